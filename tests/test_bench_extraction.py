"""The extraction benchmark's pages and scoring: each page's gold is on it, and trafilatura (what the bot
uses) finds every paragraph of every page."""

from __future__ import annotations

from bench.extraction import LAYOUTS, STORIES, every_paragraph, pages, score, with_trafilatura


def test_every_story_in_every_layout_holds_its_gold_and_its_boilerplate() -> None:
    corpus = pages()
    assert len(corpus) == len(STORIES) * len(LAYOUTS)
    for page in corpus:
        baseline = score(page, every_paragraph(page))
        assert baseline["recall"] == 1.0 and baseline["clean"] == 0.0, page.layout  # gold and junk both there


def test_trafilatura_finds_the_whole_article() -> None:
    rows = [score(page, with_trafilatura(page)) for page in pages()]
    assert all(row["complete"] == 1.0 for row in rows)
    assert sum(row["f1"] for row in rows) / len(rows) > 0.95
