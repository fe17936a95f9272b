"""New articles in, a new library view out: after batches added and articles taken out, every answer
(articles, scores, snippets, counts), every ranking table and lookup is the one a fresh build of the
same articles gives, and the views before are untouched."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.core.archive import extend, extend_library
from bot.core.library import Library, build_library
from bot.core.models import Article, Corpus
from bot.core.segments import SegmentedIndex

WORDS = [
    f"{a}{b}"
    for a in ("tra", "mel", "or", "quin", "sab", "vel", "dor", "lum")
    for b in ("ax", "en", "ory", "ite", "und", "el", "o", "ica", "ash", "um")
]


def generated_articles(count: int, seed: int) -> list[Article]:
    """Articles of made-up words with a Zipf-like spread, several paragraphs, dated or not; some carry
    the bundled topics' names so topics resolve."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(WORDS))]
    names = ["OpenAI", "standards", "Sora", "MIIT"]
    out = []
    for i in range(count):
        paragraphs = []
        for _ in range(rng.randint(1, 5)):
            sentences = []
            for _ in range(rng.randint(1, 6)):
                words = rng.choices(WORDS, weights, k=rng.randint(4, 18))
                if rng.random() < 0.15:
                    words.insert(rng.randrange(len(words)), rng.choice(names))
                sentences.append(" ".join(words).capitalize() + ".")
            paragraphs.append(" ".join(sentences))
        published = (
            None
            if rng.random() < 0.2
            else datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 2000))
        )
        title = " ".join(rng.choices(WORDS, weights, k=rng.randint(2, 7))).capitalize()
        out.append(
            Article(
                id=f"gen-{seed}-{i:04d}",
                title=title,
                body="\n\n".join(paragraphs),
                published=published,
                path=f"gen/{i}.md",
            )
        )
    return out


def questions_for(articles: list[Article], count: int, seed: int) -> list[str]:
    """Questions a reader might ask: a few words of a title, some with a word of the body."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        article = rng.choice(articles)
        words = article.title.split()
        asked = rng.sample(words, min(len(words), rng.randint(1, 3)))
        body = article.body.split()
        if body and rng.random() < 0.5:
            asked.append(rng.choice(body))
        out.append(" ".join(asked))
    return out


def fresh_build(library: Library, articles: list[Article]) -> Library:
    built = build_library(Corpus(articles=tuple(articles), problems=()), library.topics)
    return replace(built, min_relevance=library.min_relevance)


def assert_same_library(view: Library, fresh: Library, questions: list[str]) -> None:
    assert [a.id for a in view.articles] == [a.id for a in fresh.articles]
    assert view.recency_rank.tolist() == fresh.recency_rank.tolist()
    assert {k: v for k, v in view.topic_members.items() if v} == {
        k: v for k, v in fresh.topic_members.items() if v
    }
    assert view.publication_years().tolist() == fresh.publication_years().tolist()
    assert [a.id for a in view.latest(limit=7)] == [a.id for a in fresh.latest(limit=7)]
    assert view.passages.owners.tolist() == fresh.passages.owners.tolist()
    for article in fresh.articles:
        assert view.position(article.id) == fresh.position(article.id)
    for question in questions:
        for threshold in (None, 0.0):
            got = view.search(question, limit=5, min_relevance=threshold)
            want = fresh.search(question, limit=5, min_relevance=threshold)
            assert [
                (h.article.id, h.score, h.snippet, h.passage and h.passage.ordinal) for h in got.hits
            ] == [(h.article.id, h.score, h.snippet, h.passage and h.passage.ordinal) for h in want.hits], (
                question
            )
            assert got.total == want.total


@pytest.mark.parametrize("seed", [1, 2])
def test_batches_in_and_articles_out_answer_like_a_fresh_build(bundled_library: Library, seed: int) -> None:
    rng = random.Random(seed)
    everything = generated_articles(160, seed) + list(bundled_library.articles)
    rng.shuffle(everything)
    start = len(everything) // 2
    base = fresh_build(bundled_library, everything[:start])
    live = everything[:start]
    view = base
    views = [(view, list(live))]
    taken = start
    while taken < len(everything):
        batch = everything[taken : taken + rng.choice([1, 2, 5])]
        taken += len(batch)
        removed = [a.id for a in rng.sample(live, rng.choice([0, 0, 1, 2]))]
        view = extend_library(view, batch, removed=removed)
        live = [a for a in live if a.id not in set(removed)] + batch
        views.append((view, list(live)))
    assert isinstance(view.index, SegmentedIndex) and len(view.index.segments) > 1
    questions = questions_for(everything, 30, seed)
    assert_same_library(view, fresh_build(bundled_library, live), questions)
    # An early view still answers as it did: views are immutable.
    early, early_live = views[len(views) // 2]
    assert_same_library(early, fresh_build(bundled_library, early_live), questions[:8])


def test_a_changed_article_replaces_the_old_one(bundled_library: Library) -> None:
    articles = list(bundled_library.articles)
    target = articles[3]
    edited = replace(target, body=target.body + "\n\nThe harbour pelicans returned in spring.")
    outcome = extend(bundled_library, [edited], removed=[target.id])
    view = outcome.library
    assert outcome.added == (edited,) and outcome.removed == (target,)
    assert [h.article.id for h in view.search("harbour pelicans spring").hits][:1] == [target.id]
    assert bundled_library.search("harbour pelicans spring").hits == ()
    fresh = fresh_build(bundled_library, [a for a in articles if a.id != target.id] + [edited])
    assert_same_library(view, fresh, ["harbour pelicans", target.title])


def test_merging_segments_changes_no_answer(bundled_library: Library) -> None:
    articles = generated_articles(60, 7)
    view = fresh_build(bundled_library, articles[:40])
    for i in range(40, len(articles)):
        view = extend_library(view, [articles[i]])
    index = view.index
    assert isinstance(index, SegmentedIndex)
    plan = index.merge_plan()
    assert plan is not None
    merged = replace(view, index=index.merged(*plan, index.tokens_of))  # type: ignore[arg-type]
    assert len(merged.index.segments) < len(index.segments)  # type: ignore[union-attr]
    assert_same_library(merged, fresh_build(bundled_library, articles), questions_for(articles, 15, 3))
    assert np.array_equal(view.recency_rank, merged.recency_rank)
