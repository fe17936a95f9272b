"""Library snapshots: a saved library answers exactly like the built one; an unchanged corpus loads from
disk, a changed one rebuilds, a damaged snapshot is ignored with a warning; /reload builds in a child
process for big corpora and falls back to a thread."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import bot.runtime as runtime_module
from bot.core.library import Library, build_library, load_library
from bot.core.models import Article, Corpus, Topic
from bot.core.segments import SegmentedIndex
from bot.core.snapshot import (
    KEEP_SNAPSHOTS,
    SnapshotError,
    build_snapshot,
    load_or_build,
    load_snapshot,
    save_snapshot,
    snapshot_key,
)
from bot.runtime import Runtime, build_snapshot_in_child, load_configured_library
from bot.settings import Settings
from bot.store import Store

REPO = Path(__file__).resolve().parents[1]
FORMATS = REPO / "tests" / "fixtures" / "corpus_formats"
BAD = REPO / "tests" / "fixtures" / "corpus_bad"
QUESTIONS = ("OpenAI", "Sora daily losses", "standards for AI", "chips", "feed entry", "harbour crane")


def copy_corpus(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(source, target)
    return target


def assert_same_library(built: Library, loaded: Library) -> None:
    assert list(loaded.articles) == list(built.articles)
    assert list(loaded.passages) == list(built.passages)
    assert tuple(loaded.article_topics) == tuple(built.article_topics)
    assert loaded.topic_members == built.topic_members
    assert loaded.problems == built.problems and loaded.topics == built.topics
    assert loaded.recency_rank.tolist() == built.recency_rank.tolist()
    assert loaded.fingerprint == built.fingerprint
    for question in QUESTIONS:
        assert loaded.search(question, limit=10) == built.search(question, limit=10)
    for article in built.articles:
        assert loaded.article(article.id) == article
    assert [a.id for a in loaded.latest(limit=50)] == [a.id for a in built.latest(limit=50)]


@pytest.mark.parametrize("corpus", [FORMATS, BAD], ids=["formats", "bad"])
def test_round_trip_of_a_corpus(tmp_path: Path, corpus: Path) -> None:
    built = load_library(corpus, corpus / "topics.yaml")
    assert built.problems if corpus == BAD else any(a.tags and a.line for a in built.articles)
    directory = save_snapshot(built, tmp_path, "k1")
    assert_same_library(built, load_snapshot(directory))


def test_every_field_and_time_zone_survives(tmp_path: Path) -> None:
    plus_two = timezone(timedelta(hours=2))
    articles = (
        Article(
            id="ünï/1",
            title="Crane “news”",
            body="Harbour crane lifts a 🚢 container.\n\nSecond paragraph about the crane.",
            published=datetime(2024, 3, 1, 9, 30, 15, 250, tzinfo=plus_two),
            source="Port wire",
            url="https://example.org/a?b=1",
            tags=("ports", "cranes \u001f odd"),
            path="wire/x.jsonl",
            line=7,
        ),
        Article(id="bare", title="Bare", body="Nothing else set here."),
        Article(id="empty-source", title="T", body="Body text.", source="", url=""),
    )
    built = build_library(Corpus(articles, ()), (Topic("ports", "Ports", ("harbour crane",)),))
    loaded = load_snapshot(save_snapshot(built, tmp_path, "k2"))
    assert list(loaded.articles) == list(articles)
    first = loaded.articles[0]
    assert first.published is not None and first.published.utcoffset() == timedelta(hours=2)
    assert loaded.articles[-1] == articles[-1] and loaded.articles[1:2] == [articles[1]]
    assert loaded.article_topics[0] == ("ports",)
    assert loaded.search("crane").hits[0].article.id == "ünï/1"


def test_unchanged_corpus_loads_from_disk_and_a_changed_one_rebuilds(tmp_path: Path) -> None:
    corpus = copy_corpus(FORMATS, tmp_path)
    snapshots = tmp_path / "snapshots"
    first = load_or_build(corpus, corpus / "topics.yaml", snapshots, max_file_bytes=1 << 20)
    assert not first.from_snapshot and first.warnings == ()
    second = load_or_build(corpus, corpus / "topics.yaml", snapshots, max_file_bytes=1 << 20)
    assert second.from_snapshot
    assert_same_library(first.library, second.library)
    (corpus / "wire" / "extra.jsonl").write_text(
        json.dumps({"id": "new-1", "title": "Harbour crane record", "body": "A new crane record."}) + "\n"
    )
    third = load_or_build(corpus, corpus / "topics.yaml", snapshots, max_file_bytes=1 << 20)
    # The snapshot of before is loaded and the one changed file read: no rebuild.
    assert third.from_snapshot and third.notes and "1 corpus file changed since" in third.notes[0]
    assert third.library.article("new-1") is not None
    assert third.library.search("crane record").hits[0].article.id == "new-1"
    # The topics file and the loader's size cap are part of the key too.
    key = snapshot_key(corpus, corpus / "topics.yaml", max_file_bytes=1 << 20)
    assert key != snapshot_key(corpus, corpus / "topics.yaml", max_file_bytes=1 << 21)
    (corpus / "topics.yaml").write_text("topics: []\n")
    assert key != snapshot_key(corpus, corpus / "topics.yaml", max_file_bytes=1 << 20)


def _damage_array(directory: Path) -> None:
    data = (directory / "passage_start.npy").read_bytes()
    (directory / "passage_start.npy").write_bytes(data[:-4])


def _pickled_array(directory: Path) -> None:
    np.save(directory / "recency.npy", np.array([object()] * 3), allow_pickle=True)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "header.json").write_text("{broken"),
        lambda d: (d / "meta.json").unlink(),
        _damage_array,
        _pickled_array,
        lambda d: (d / "index" / "doc_ids.npy").write_bytes(b"\x93NUMPY garbage"),
        lambda d: np.save(d / "offsets.npy", np.arange(5, dtype=np.int64)),
        lambda d: np.save(d / "passage_article.npy", np.full_like(np.load(d / "passage_article.npy"), 99)),
        # Dates outside the calendar (a snapshot written before dates were checked, or damaged): they
        # would only fail when an article is first read, mid-answer.
        lambda d: np.save(d / "published.npy", np.full_like(np.load(d / "published.npy"), -(2**62))),
        lambda d: np.save(d / "utc_offset.npy", np.full_like(np.load(d / "utc_offset.npy"), 90_000)),
        lambda d: (d / "meta.json").write_text('{"topics": 5, "problems": []}'),
    ],
    ids=["header", "meta", "truncated", "pickle", "index", "offsets", "owners", "dates", "zones", "shape"],
)
def test_damaged_snapshot_is_ignored_with_a_warning_and_rebuilt(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    corpus = copy_corpus(FORMATS, tmp_path)
    snapshots = tmp_path / "snapshots"
    built = load_or_build(corpus, corpus / "topics.yaml", snapshots, max_file_bytes=1 << 20).library
    [directory] = [p for p in snapshots.iterdir() if not p.name.startswith(".")]
    damage(directory)
    with pytest.raises(SnapshotError):
        load_snapshot(directory)
    again = load_or_build(corpus, corpus / "topics.yaml", snapshots, max_file_bytes=1 << 20)
    assert not again.from_snapshot
    assert again.warnings and "unusable snapshot" in again.warnings[0]
    assert_same_library(built, again.library)
    assert load_or_build(corpus, corpus / "topics.yaml", snapshots, max_file_bytes=1 << 20).from_snapshot


def test_only_the_newest_snapshots_are_kept(tmp_path: Path) -> None:
    library = build_library(Corpus((Article(id="a", title="T", body="Some words."),), ()), ())
    for number in range(KEEP_SNAPSHOTS + 3):
        save_snapshot(library, tmp_path, f"key{number}")
        os.utime(tmp_path / f"key{number}" / "header.json", (1000 + number, 1000 + number))
    (tmp_path / ".tmp-stale-1").mkdir()
    os.utime(tmp_path / ".tmp-stale-1", (0, 0))
    save_snapshot(library, tmp_path, "latest")
    kept = sorted(p.name for p in tmp_path.iterdir())
    expected = [f"key{n}" for n in range(KEEP_SNAPSHOTS + 3)][-(KEEP_SNAPSHOTS - 1) :]
    assert kept == sorted([*expected, "latest"])


def test_a_snapshot_under_another_name_is_refused(tmp_path: Path) -> None:
    library = build_library(Corpus((Article(id="a", title="T", body="Some words."),), ()), ())
    directory = save_snapshot(library, tmp_path, "right")
    directory.rename(tmp_path / "wrong")
    with pytest.raises(SnapshotError, match="key"):
        load_snapshot(tmp_path / "wrong")


def settings_for(corpus: Path, tmp_path: Path) -> Settings:
    return Settings(
        corpus_dir=corpus,
        database=tmp_path / "db" / "newsbot.sqlite3",
        snapshot_dir=tmp_path / "snapshots",
        corpus_poll_seconds=0,
    )


def test_configured_library_warns_about_a_damaged_snapshot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(copy_corpus(FORMATS, tmp_path), tmp_path)
    first = load_configured_library(settings)
    [directory] = [p for p in settings.snapshot_dir.iterdir() if not p.name.startswith(".")]
    (directory / "header.json").write_text("[]")
    with caplog.at_level(logging.INFO, logger="bot.runtime"):
        again = load_configured_library(settings)
    assert any(r.levelno == logging.WARNING and "unusable snapshot" in r.getMessage() for r in caplog.records)
    assert_same_library(first, again)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.runtime"):
        load_configured_library(settings)
    assert any("loaded the snapshot" in r.getMessage() for r in caplog.records)


def test_build_snapshot_in_a_spawned_child(tmp_path: Path) -> None:
    settings = settings_for(copy_corpus(FORMATS, tmp_path), tmp_path)

    async def build() -> bool:
        return await build_snapshot_in_child(settings)

    import asyncio

    assert asyncio.run(build())
    key = snapshot_key(settings.corpus_dir, settings.topics_path, max_file_bytes=settings.max_file_bytes)
    assert (settings.snapshot_dir / key / "header.json").is_file()
    assert (
        build_snapshot(
            settings.corpus_dir,
            settings.topics_path,
            settings.snapshot_dir,
            max_file_bytes=settings.max_file_bytes,
        )
        == key
    )  # already there: nothing to do


@pytest.mark.parametrize("process_works", [True, False], ids=["child-process", "thread-fallback"])
async def test_reload_of_a_big_corpus_builds_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process_works: bool
) -> None:
    corpus = copy_corpus(FORMATS, tmp_path)
    settings = settings_for(corpus, tmp_path)
    monkeypatch.setattr(runtime_module, "PROCESS_BUILD_FROM_BYTES", 0)  # every corpus counts as big
    if not process_works:

        def no_processes(method: str | None = None) -> object:
            raise OSError("no processes here")

        monkeypatch.setattr(multiprocessing, "get_context", no_processes)
    store = await Store.open(settings.database)
    try:
        runtime = Runtime(settings=settings, store=store, library=load_configured_library(settings))
        before = runtime.library.article_count
        (corpus / "wire" / "extra.jsonl").write_text(
            json.dumps({"id": "new-1", "title": "Harbour crane record", "body": "A new crane record."}) + "\n"
        )
        outcome = await runtime.reload(full=True)
    finally:
        await store.close()
    assert outcome.error is None and not outcome.kept_old
    assert (outcome.before, outcome.after) == (before, before + 1)
    assert [a.id for a in outcome.added] == ["new-1"]
    assert runtime.library.search("crane record").hits[0].article.id == "new-1"
    key = snapshot_key(corpus, settings.topics_path, max_file_bytes=settings.max_file_bytes)
    assert (settings.snapshot_dir / key).is_dir()


async def test_a_reload_reads_only_the_files_that_changed(tmp_path: Path) -> None:
    """A new file, an edited one and a removed one: only they are read; the view answers like a full
    rebuild of the corpus; the articles taken out are gone; the snapshot on disk is brought up to date
    at the next start."""
    corpus = copy_corpus(FORMATS, tmp_path)
    settings = settings_for(corpus, tmp_path)
    store = await Store.open(settings.database)
    try:
        runtime = Runtime(settings=settings, store=store, library=load_configured_library(settings))
        before = runtime.library
        removed_file = sorted(before.files)[0]
        gone_ids = set(before.files[removed_file].ids)
        (corpus / removed_file).unlink()
        (corpus / "wire" / "extra.jsonl").write_text(
            json.dumps({"id": "new-1", "title": "Harbour crane record", "body": "A new crane record."}) + "\n"
        )
        outcome = await runtime.reload()
        second = await runtime.reload()
    finally:
        await store.close()
    assert outcome.error is None and not outcome.kept_old
    assert [a.id for a in outcome.added] == ["new-1"]
    assert {a.id for a in outcome.removed} == gone_ids
    view = runtime.library
    assert isinstance(view.index, SegmentedIndex)  # a new segment, not a rebuild
    assert runtime.library.search("crane record").hits[0].article.id == "new-1"
    assert all(view.article(article_id) is None for article_id in gone_ids)
    assert (second.added, second.changed, second.removed) == ((), (), ())
    fresh = load_library(corpus, settings.topics_path)
    assert sorted(a.id for a in view.articles) == sorted(a.id for a in fresh.articles)
    for question in ("crane record", "harbour", *[a.title for a in fresh.articles][:5]):
        got = [(h.article.id, h.score) for h in view.search(question, min_relevance=0.0).hits]
        want = [(h.article.id, h.score) for h in fresh.search(question, min_relevance=0.0).hits]
        assert [i for i, _ in got] == [i for i, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-12)
    restarted = load_configured_library(settings)
    assert restarted.article("new-1") is not None and all(restarted.article(i) is None for i in gone_ids)


def test_loaded_articles_are_made_once_and_shared(tmp_path: Path) -> None:
    built = load_library(FORMATS, FORMATS / "topics.yaml")
    loaded = load_snapshot(save_snapshot(built, tmp_path, "k"))
    assert loaded.articles[0] is loaded.articles[0]
    assert loaded.articles[-1] is loaded.articles[len(loaded.articles) - 1]
    with pytest.raises(IndexError):
        loaded.articles[len(loaded.articles)]
    with pytest.raises(IndexError):
        loaded.passages[len(loaded.passages)]
    assert loaded.passages[-1] == list(built.passages)[-1]
    assert loaded.loaded_at.tzinfo is UTC


def test_an_article_dated_at_the_calendar_edge_survives_restarts_from_the_snapshot(tmp_path: Path) -> None:
    """The issue's case: 0001-01-01T00:00:00+01:00 is the year 0 in UTC. It used to load the first time
    and crash every restart from the snapshot (OverflowError); now it is a problem both times, and the
    rest of the corpus loads, from the snapshot the second time."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "topics.yaml").write_text("topics: []\n")
    (corpus / "old.md").write_text("---\ntitle: Old\npublished: 0001-01-01T00:00:00+01:00\n---\n\nAncient.\n")
    (corpus / "new.md").write_text("---\ntitle: New\npublished: 2026-03-01\n---\n\nRecent news.\n")
    settings = settings_for(corpus, tmp_path)
    first = load_configured_library(settings)
    again = load_configured_library(settings)
    for library in (first, again):
        assert [article.title for article in library.articles] == ["New"]
        assert [p.path for p in library.problems] == ["old.md"] and "out of range" in library.problems[
            0
        ].reason
    assert [a.published for a in again.articles] == [datetime(2026, 3, 1, tzinfo=UTC)]


async def test_editing_one_story_of_a_file_changes_only_that_story(tmp_path: Path) -> None:
    corpus = copy_corpus(FORMATS, tmp_path)
    settings = settings_for(corpus, tmp_path)
    rows = [
        {"id": f"wire-{n}", "title": f"Tide table {n}", "body": f"High water at {n} o'clock."}
        for n in range(3)
    ]
    path = corpus / "wire" / "tides.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    store = await Store.open(settings.database)
    try:
        runtime = Runtime(settings=settings, store=store, library=load_configured_library(settings))
        rows[1]["body"] = "High water moved to noon."
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        outcome = await runtime.reload()
    finally:
        await store.close()
    assert ([a.id for a in outcome.changed], outcome.added, outcome.removed) == (["wire-1"], (), ())
    assert runtime.library.search("high water noon").hits[0].article.id == "wire-1"
    assert runtime.library.files["wire/tides.jsonl"].ids == ("wire-0", "wire-1", "wire-2")
