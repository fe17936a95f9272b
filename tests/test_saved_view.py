"""The view saved segment by segment: after random additions, deletions and merges, each saved and loaded
back by a fresh SavedView, the loaded view answers exactly like the view in memory and like a fresh build
(ids, scores, snippets, ties), its segments memory-mapped; a save writes only new segments, links a whole
snapshot instead of copying it, and a save that dies half-way leaves the last view loadable."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

import bot.core.saved_view as saved_view_module
from bot.core.archive import extend_library, merge_segments
from bot.core.library import Library
from bot.core.saved_view import MANIFEST, SavedView, ViewTaken
from bot.core.segments import SegmentedIndex
from bot.core.snapshot import SnapshotError, load_snapshot, save_snapshot
from tests.test_archive import assert_same_library, fresh_build, generated_articles, questions_for


def segment_count(view: Library) -> int:
    """Segments holding documents (a merge may leave an empty one in memory; it is not saved)."""
    index = view.article_index
    return sum(1 for s in index.segments if s.index.num_docs) if isinstance(index, SegmentedIndex) else 1


def folders(saved: SavedView) -> set[str]:
    """What the folder holds, the writer's lock file aside."""
    return {entry.name for entry in saved.directory.iterdir() if entry.name != ".writer.lock"}


@pytest.mark.parametrize("seed", [11, 12])
def test_random_changes_saved_and_loaded_answer_like_a_fresh_build(
    bundled_library: Library, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    everything = generated_articles(110, seed)
    start = 40
    base = fresh_build(bundled_library, everything[:start])
    live = list(everything[:start])
    view = base
    saved = SavedView(tmp_path, "base")
    saved.save(view)
    taken = start
    steps = 0
    while taken < len(everything):
        batch = everything[taken : taken + rng.choice([1, 3, 8])]
        taken += len(batch)
        removed = [a.id for a in rng.sample(live, rng.choice([0, 1, 3]))]
        view = extend_library(view, batch, removed=removed)
        live = [a for a in live if a.id not in set(removed)] + batch
        if rng.random() < 0.3:
            view = merge_segments(view)
        saved.save(view)
        steps += 1
        if steps % 8 == 0:  # now and then, as after a restart: a fresh reader of the folder
            loaded = SavedView(tmp_path, "base").load()
            assert segment_count(loaded) == segment_count(view)
            assert_same_library(loaded, view, questions_for(live, 6, seed + steps))
    loaded = SavedView(tmp_path, "base").load()
    questions = questions_for(everything, 25, seed)
    assert segment_count(loaded) == segment_count(view) > 1
    assert_same_library(loaded, fresh_build(bundled_library, live), questions)
    assert_same_library(loaded, view, questions)
    # Mapped from disk, not rebuilt: every segment's postings are memory-mapped files.
    assert isinstance(loaded.article_index, SegmentedIndex)
    for segment in loaded.article_index.segments:
        assert isinstance(segment.index._doc_ids.base, np.memmap)
    # The folder holds what the manifest names and nothing else.
    manifest = json.loads((saved.directory / MANIFEST).read_text("utf-8"))
    named = {entry["name"] for entry in manifest["segments"]} | {
        manifest["files"],
        manifest["recency"],
        MANIFEST,
    }
    assert folders(saved) == named


def test_a_save_writes_only_new_segments_and_links_a_whole_snapshot(
    bundled_library: Library, tmp_path: Path
) -> None:
    articles = generated_articles(30, 5)
    whole = save_snapshot(fresh_build(bundled_library, articles[:20]), tmp_path / "snapshots", "corpus-key")
    library = load_snapshot(whole)
    saved = SavedView(tmp_path / "snapshots", "base")
    saved.save(library)
    [first] = [name for name in folders(saved) if name.startswith("seg-")]
    # Linked, not copied: the segment's postings are the snapshot's file.
    source = whole / "article_index" / "doc_ids.npy"
    assert os.stat(saved.directory / first / "article_index" / "doc_ids.npy").st_ino == os.stat(source).st_ino
    view = extend_library(library, articles[20:25])
    saved.save(view)
    second = {name for name in folders(saved) if name.startswith("seg-")} - {first}
    assert len(second) == 1
    written = (saved.directory / first / "header.json").stat().st_mtime_ns
    view = extend_library(view, articles[25:])
    saved.save(view)
    assert (saved.directory / first / "header.json").stat().st_mtime_ns == written  # never rewritten
    assert len([name for name in folders(saved) if name.startswith("seg-")]) == 3
    # The whole snapshot may go (the snapshot directory keeps only the newest few): the view stays.
    for path in sorted(whole.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    whole.rmdir()
    loaded = SavedView(tmp_path / "snapshots", "base").load()
    assert_same_library(loaded, fresh_build(bundled_library, articles), questions_for(articles, 10, 1))


def test_a_save_that_dies_before_its_manifest_leaves_the_last_view(
    bundled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = generated_articles(24, 9)
    view = fresh_build(bundled_library, articles[:16])
    saved = SavedView(tmp_path, "base")
    saved.save(view)
    before = folders(saved)
    grown = extend_library(view, articles[16:], removed=[articles[0].id])

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(saved_view_module, "_replace", disk_full)
        with pytest.raises(OSError):
            saved.save(grown)
    assert folders(saved) - before  # the new segment was written, but no manifest names it
    loaded = SavedView(tmp_path, "base").load()
    assert_same_library(loaded, view, questions_for(articles[:16], 8, 2))
    # The next save goes through and clears the leftover.
    saved.save(grown)
    reloaded = SavedView(tmp_path, "base").load()
    live = articles[1:]
    assert_same_library(reloaded, fresh_build(bundled_library, live), questions_for(live, 8, 3))
    manifest = json.loads((saved.directory / MANIFEST).read_text("utf-8"))
    named = {entry["name"] for entry in manifest["segments"]} | {
        manifest["files"],
        manifest["recency"],
        MANIFEST,
    }
    assert named == folders(saved)


def test_a_damaged_or_foreign_folder_is_refused_not_half_loaded(
    bundled_library: Library, tmp_path: Path
) -> None:
    articles = generated_articles(12, 4)
    saved = SavedView(tmp_path, "base")
    with pytest.raises(SnapshotError, match="no saved view"):
        saved.load()
    view = extend_library(fresh_build(bundled_library, articles[:8]), articles[8:])
    saved.save(view)
    # The folder of one base under another's name (settings moved): refused.
    shutil.copytree(saved.directory, tmp_path / "view-other")
    with pytest.raises(SnapshotError, match="another base"):
        SavedView(tmp_path, "other").load()
    # A truncated postings file in a segment: refused.
    segment = sorted(name for name in folders(saved) if name.startswith("seg-"))[-1]
    postings = saved.directory / segment / "index" / "doc_ids.npy"
    postings.write_bytes(postings.read_bytes()[:20])
    with pytest.raises(SnapshotError):
        SavedView(tmp_path, "base").load()
    # A manifest cut short: refused.
    (saved.directory / MANIFEST).write_text('{"format": "newsbot-view", "vers', "utf-8")
    with pytest.raises(SnapshotError, match="unreadable manifest"):
        SavedView(tmp_path, "base").load()


def test_a_segment_whose_articles_died_before_it_was_saved_is_saved_rewritten(
    bundled_library: Library, tmp_path: Path
) -> None:
    """A batch added and one of its articles taken out before any save (a file added, then edited at
    once): the dead article's text is gone from the view, so the segment is saved without it, and the
    view saved, which answers the same, is handed back."""
    articles = generated_articles(30, 21)
    view = fresh_build(bundled_library, articles[:20])
    saved = SavedView(tmp_path, "base")
    saved.save(view)
    grown = extend_library(view, articles[20:])
    shrunk = extend_library(grown, [], removed=[articles[22].id, articles[3].id])
    written = saved.save(shrunk)
    assert written is not shrunk
    assert isinstance(written.article_index, SegmentedIndex)
    assert written.article_index.segments[-1].dead_count == 0  # the new segment, rewritten
    assert written.article_index.segments[0].dead_count == 1  # the saved one keeps its dead mark
    live = [a for a in articles if a.id not in {articles[22].id, articles[3].id}]
    questions = questions_for(live, 12, 4)
    assert_same_library(written, shrunk, questions)
    assert_same_library(SavedView(tmp_path, "base").load(), fresh_build(bundled_library, live), questions)


def test_one_process_at_a_time_writes_a_folder_and_others_still_read_it(
    bundled_library: Library, tmp_path: Path
) -> None:
    articles = generated_articles(14, 31)
    view = extend_library(fresh_build(bundled_library, articles[:10]), articles[10:])
    writer = SavedView(tmp_path, "base")
    writer.save(view)
    other = SavedView(tmp_path, "base")  # (its own lock file description: as another process's)
    with pytest.raises(ViewTaken):
        other.save(extend_library(view, [], removed=[articles[0].id]))
    assert_same_library(other.load(), view, questions_for(articles, 6, 8))
