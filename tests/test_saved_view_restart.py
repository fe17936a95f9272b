"""A restart resumes the view the bot saved: the corpus files read since and the fetched articles come back
memory-mapped from their segments instead of being read and analysed again; files changed while the bot
was down are read as one new segment; fetched articles the store no longer keeps leave the view; and the
resumed view answers exactly like a full rebuild of the same articles."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.core.library import Library, load_library
from bot.core.models import Article
from bot.core.segments import SegmentedIndex
from bot.runtime import Runtime, load_configured_library, load_saved_view, saved_view_of
from bot.settings import Settings
from bot.store import Store
from bot.store.sources import FetchedArticle, PollStatus

REPO = Path(__file__).resolve().parents[1]
FORMATS = REPO / "tests" / "fixtures" / "corpus_formats"
QUESTIONS = ("harbour crane record", "lighthouse keeper ferry", "OpenAI", "standards for AI", "feed entry")


def settings_for(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        shutil.copytree(FORMATS, corpus)
    return Settings(
        corpus_dir=corpus,
        database=tmp_path / "db" / "newsbot.sqlite3",
        snapshot_dir=tmp_path / "snapshots",
        corpus_poll_seconds=0,
    )


async def start(settings: Settings, store: Store) -> Runtime:
    """What the composition root does: the saved view if there is one, else the corpus; then the
    fetched articles reconciled with the store."""
    saved = saved_view_of(settings)
    library = load_saved_view(settings, saved) or load_configured_library(settings)
    runtime = Runtime(settings=settings, store=store, library=library, saved_view=saved)
    await runtime.attach_fetched()
    await runtime.view_saved()  # (saved in the background; a clean stop waits for it too)
    return runtime


async def store_fetched(store: Store, articles: list[Article], *, days_ago: float) -> None:
    source, _ = await store.sources.add(
        "https://news.example.test/feed.xml", name="Example", every=600, added_by=None
    )
    await store.sources.record_success(
        source.id,
        status=PollStatus.NEW,
        articles=[
            FetchedArticle(article, entry_key=article.id, canonical_url=article.url, fingerprint=article.id)
            for article in articles
        ],
        next_poll_at=datetime.now(UTC) + timedelta(hours=1),
        now=datetime.now(UTC) - timedelta(days=days_ago),
    )


def fetched_article(number: int, title: str, body: str) -> Article:
    return Article(
        id=f"feed:example:{number}",
        title=title,
        body=body,
        published=datetime(2026, 11, 1 + number, 9, tzinfo=UTC),
        source="Example",
        url=f"https://news.example.test/{number}",
        path="https://news.example.test/feed.xml",
    )


def answers(library: Library) -> list[list[tuple[str, float]]]:
    return [
        [(hit.article.id, hit.score) for hit in library.search(question, limit=5, min_relevance=0.0).hits]
        for question in QUESTIONS
    ]


def mapped_segments(library: Library) -> int:
    index = library.article_index
    assert isinstance(index, SegmentedIndex)
    return sum(isinstance(segment.index._doc_ids.base, np.memmap) for segment in index.segments)


async def test_a_restart_maps_the_saved_segments_and_reads_only_what_changed_while_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path)
    corpus = settings.corpus_dir
    first = fetched_article(
        1, "Harbour crane record", "The new harbour crane lifted a record load on Monday."
    )
    second = fetched_article(
        2, "Lighthouse keeper retires", "The lighthouse keeper took the last ferry home."
    )
    store = await Store.open(settings.database)
    try:
        await store_fetched(store, [second], days_ago=40)
        await store_fetched(store, [first], days_ago=1)
        runtime = await start(settings, store)
        assert runtime.library.article(first.id) is not None
        (corpus / "wire" / "extra.jsonl").write_text(
            json.dumps({"id": "new-1", "title": "Ferry timetable", "body": "The ferry now leaves at dawn."})
            + "\n"
        )
        outcome = await runtime.reload()
        assert [a.id for a in outcome.added] == ["new-1"]
        await runtime.view_saved()
        assert runtime.saved_view is not None
        runtime.saved_view.close()
        before = runtime.library
    finally:
        await store.close()

    # While the bot is down: one corpus file removed, one fetched article expires.
    removed_file = sorted(rel for rel in before.files if rel != "wire/extra.jsonl")[0]
    gone_ids = set(before.files[removed_file].ids)
    (corpus / removed_file).unlink()
    store = await Store.open(settings.database)
    try:
        assert await store.sources.expire(datetime.now(UTC) - timedelta(days=30)) == 1  # retention
        caplog.set_level("INFO", logger="bot.runtime")
        restarted = await start(settings, store)
    finally:
        await store.close()
    view = restarted.library
    assert "resumed the saved view" in caplog.text
    assert mapped_segments(view) >= 3  # the corpus, the fetched articles, the file read by /reload
    assert view.article("new-1") is not None and view.article(first.id) is not None
    assert view.article(second.id) is None  # expired: left the view
    assert all(view.article(article_id) is None for article_id in gone_ids)
    fresh = load_library(corpus, settings.topics_path)
    expected = sorted([a.id for a in fresh.articles] + [first.id])
    assert sorted(a.id for a in view.articles) == expected
    rebuilt = runtime_rebuild(settings, [first])
    assert [[i for i, _ in page] for page in answers(view)] == [
        [i for i, _ in page] for page in answers(rebuilt)
    ]
    for got, want in zip(answers(view), answers(rebuilt), strict=True):
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-12)


def runtime_rebuild(settings: Settings, fetched: list[Article]) -> Library:
    """The corpus built afresh with these fetched articles: what a full /reload gives."""
    from bot.core.archive import extend_library

    return extend_library(load_library(settings.corpus_dir, settings.topics_path), fetched)


async def test_a_view_that_cannot_be_resumed_falls_back_to_the_corpus(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = await Store.open(settings.database)
    try:
        runtime = await start(settings, store)
        saved = runtime.saved_view
        assert saved is not None and (saved.directory / "manifest.json").is_file()
        (saved.directory / "manifest.json").write_text("{ not json", "utf-8")
        saved.close()  # (as the first process ending would)
        again = await start(settings, store)
    finally:
        await store.close()
    assert sorted(a.id for a in again.library.articles) == sorted(a.id for a in runtime.library.articles)
    # And it is saved afresh, so the restart after resumes it.
    assert load_saved_view(settings, saved_view_of(settings)) is not None


async def test_a_full_reload_keeps_saving_and_a_changed_topics_file_moves_the_folder(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    corpus = settings.corpus_dir
    store = await Store.open(settings.database)
    try:
        runtime = await start(settings, store)
        first_folder = runtime.saved_view and runtime.saved_view.directory
        (corpus / "wire" / "extra.jsonl").write_text(
            json.dumps({"id": "new-1", "title": "Ferry timetable", "body": "The ferry leaves at dawn."})
            + "\n"
        )
        outcome = await runtime.reload(full=True)
        assert [a.id for a in outcome.added] == ["new-1"]
        await runtime.view_saved()
        assert runtime.saved_view is not None and runtime.saved_view.directory == first_folder
        # (read as saved, without reading the corpus files again)
        assert saved_view_of(settings).load().article("new-1") is not None
        # A changed topics file: the next full reload saves under the new base, and that is resumed.
        topics = settings.topics_path
        topics.write_text(topics.read_text("utf-8") + "\n", "utf-8")
        (corpus / "wire" / "extra2.jsonl").write_text(
            json.dumps({"id": "new-2", "title": "Harbour crane", "body": "A crane record."}) + "\n"
        )
        await runtime.reload()  # (the topics moved: a full rebuild)
        await runtime.view_saved()
        assert runtime.saved_view is not None and runtime.saved_view.directory != first_folder
        runtime.saved_view.close()
    finally:
        await store.close()
    again = saved_view_of(settings).load()
    assert again.article("new-2") is not None and again.article("new-1") is not None
