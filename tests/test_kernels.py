"""The compiled search kernels against the numpy path (the reference): the same top k — ids, scores bit for
bit, tie order — on random corpora and for every depth; the same exact scores, held weights and capped
counts; the kernels' plain-Python form agrees too; and search falls back to numpy without numba."""

from __future__ import annotations

import multiprocessing
import random
import sys
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from rank_bm25 import BM25Okapi

import bot.core.index as index_module
import bot.core.library as library_module
from bot.core import kernels
from bot.core.archive import extend_library, merge_segments
from bot.core.index import BM25Index
from bot.core.library import Library, build_library
from bot.core.models import Article, Corpus, SearchResult
from bot.core.questions import Query
from bot.core.segments import SegmentedIndex
from bot.core.snapshot import load_snapshot, save_snapshot
from bot.core.text import terms
from tests.test_index import expected_top, generated_corpus, news_library


@pytest.fixture(scope="module")
def compiled() -> kernels.Kernels:
    found = kernels.compiled()
    if found is None:
        pytest.skip("numba is not installed")
    return found


def random_queries(docs: list[list[str]], count: int, seed: int) -> list[list[str]]:
    """Questions mixing topic words with common words of every frequency, some repeated or unknown."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        doc = rng.choice([d for d in docs if d])
        query = [rng.choice(doc) for _ in range(rng.randint(1, 3))]
        query += [f"w{int(rng.paretovariate(0.8)) % 400}" for _ in range(rng.randint(0, 4))]
        if i % 5 == 0:
            query.append(query[0])  # rank-bm25 counts a repeated term twice
        if i % 9 == 0:
            query.insert(1, "zzz-unknown")
        out.append(query)
    return out


def both_paths(
    monkeypatch: pytest.MonkeyPatch, index: BM25Index, query: list[str], k: int, tie_rank: np.ndarray | None
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    monkeypatch.setattr(index_module, "COMPILED", True)
    fast = index.top_k(query, k, tie_rank=tie_rank)
    monkeypatch.setattr(index_module, "COMPILED", False)
    reference = index.top_k(query, k, tie_rank=tie_rank)
    monkeypatch.setattr(index_module, "COMPILED", True)
    return fast, reference


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compiled_top_k_is_the_numpy_top_k(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    docs = generated_corpus(3000 * seed, seed=seed)
    index = BM25Index.build(docs)
    tie_rank = np.random.default_rng(seed).integers(0, 4, size=len(docs))
    compared = 0
    for query in random_queries(docs, 120, seed):
        for k in (1, 10, 64, 300):
            for ranks in (None, tie_rank):
                fast, reference = both_paths(monkeypatch, index, query, k, ranks)
                assert fast == reference  # ids, scores bit for bit, tie order
                compared += len(fast)
    assert compared > 50_000


def test_compiled_top_k_equals_rank_bm25_with_many_ties(compiled: kernels.Kernels) -> None:
    # Identical documents tie on score: the cut keeps the lower tie rank, then the lower doc id.
    docs = [["storm", "surge", "coast"]] * 40 + [["storm", "calm"], ["surge"], ["coast", "storm", "x"]] * 30
    index = BM25Index.build(docs)
    reference = BM25Okapi(docs)
    tie_rank = np.array([i % 5 for i in range(len(docs))])
    for query in (["storm", "surge", "coast"], ["surge", "storm"], ["coast", "coast", "storm"]):
        for k in (3, 10, 41, 100, 500):
            got = index.top_k(query, k, tie_rank=tie_rank)
            assert [d for d, _ in got] == expected_top(reference, query, k, tie_rank, docs)
            scores = reference.get_scores(query)
            assert [s for _, s in got] == [scores[d] for d, _ in got]


def test_the_kernels_uncompiled_rank_like_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same functions as plain Python (what numba compiles) give the numpy path's answers."""
    docs = generated_corpus(600, seed=7)
    index = BM25Index.build(docs)
    tie_rank = np.random.default_rng(7).integers(0, 3, size=len(docs)).astype(np.int64)
    monkeypatch.setattr(index_module, "COMPILED", False)
    # The index keeps its arrays in these dtypes; asarray only tells the type checker so (no copy).
    indptr = np.asarray(index._indptr, dtype=np.int64)
    doc_ids = np.asarray(index._doc_ids, dtype=np.int32)
    for query in random_queries(docs, 25, seed=8):
        tids = np.asarray(index._known(query), dtype=np.int64)
        if not len(tids):
            continue
        for k in (1, 10, 40):
            scratch = index._compact_scratch()
            found, scores = kernels.top_k(
                tids, k, indptr, doc_ids, index._tfs, index._impacts, index._max_weight,
                index._idf, index._norm, index.k1 + 1, index._step, 1.0, 1.0, tie_rank, True, *scratch,
            )  # fmt: skip
            assert not scratch[0].any() and (scratch[2] == -1).all()  # the scratch is handed back as it was
            expected = index.top_k(query, k, tie_rank=tie_rank)
            assert list(zip(found.tolist(), scores.tolist(), strict=True)) == expected
        docs_asked = np.unique(index.postings(query[0]))[:50].astype(np.int64)
        exact = kernels.exact_scores(
            tids, docs_asked, indptr, doc_ids, index._tfs, index._idf, index._norm, index.k1 + 1
        )
        assert exact.tolist() == index.scores_of(query, docs_asked).tolist()


def test_compiled_exact_scores_held_weights_and_counts_match_numpy(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = generated_corpus(5000, seed=12)
    index = BM25Index.build(docs)
    for query in random_queries(docs, 60, seed=13):
        lists = [index.postings(t) for t in query]
        asked = np.unique(np.concatenate([*lists, np.arange(0, 5000, 97)])).astype(np.int64)
        weights = {term: 1.0 + len(term) / 3 for term in query}
        needed = query[:2]
        results = []
        for fast in (True, False):
            monkeypatch.setattr(index_module, "COMPILED", fast)
            held = index.held_weights(weights, asked)
            results.append((index.scores_of(query, asked).tolist(), held.tolist()))
        assert results[0] == results[1]
        monkeypatch.setattr(index_module, "COMPILED", True)
        total = sum(weights.values())
        for share, cap in ((0.3, 10_000), (0.5, 10_000), (0.3, 25)):
            holding = set(np.concatenate([index.postings(t) for t in needed]).tolist())
            shares = np.maximum(index.held_weights(weights, np.arange(index.num_docs)) / total, 0.0)
            expected = int(np.count_nonzero(shares[sorted(holding)] >= share)) if holding else 0
            passing = [doc for doc in sorted(holding) if shares[doc] >= share]
            marks = np.zeros(index.num_docs, dtype=np.uint8)
            # Other lists galloped, and (those short next to the needed ones) marked in the scratch.
            for scratch in (None, marks):
                found = index.docs_holding(weights, needed, share, cap, marks=scratch)
                assert found is not None
                assert found.tolist() == passing[:cap]
                assert len(found) == min(expected, cap)
            assert not marks.any()  # the scratch is handed back as it came


def test_without_numba_search_uses_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now fails
    assert kernels._compile() is None
    docs = generated_corpus(500, seed=9)
    index = BM25Index.build(docs)
    monkeypatch.setattr(kernels, "ready", lambda: None)  # kernels not ready (or missing): numpy answers
    reference = BM25Okapi(docs)
    query = ["w1", "t3x2", "w7"]
    got = index.top_k(query, 10)
    assert [d for d, _ in got] == expected_top(reference, query, 10, np.zeros(len(docs)), docs)


def test_kernels_are_ready_after_preparation(compiled: kernels.Kernels) -> None:
    assert kernels.ready() is compiled
    assert compiled.seconds > 0


def dated_articles(count: int, seed: int) -> list[Article]:
    """Articles of common and topic words, dated over 2003–2006 in several time zones, some naming a
    year in the text (and some undated)."""
    rng = random.Random(seed)
    docs = generated_corpus(count, seed=seed)
    zones = [UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=9))]
    articles = []
    for number, words in enumerate(docs):
        year = rng.choice([2003, 2004, 2005, 2006])
        day = (12, 31) if rng.random() < 0.5 else (1, 1)  # near new year: the zone decides the year
        published = None if number % 11 == 0 else datetime(year, *day, 23, tzinfo=zones[number % 3])
        named = [str(rng.choice([2003, 2004, 2005]))] if rng.random() < 0.3 else []
        body = " ".join(words[3:] + named) or "empty"
        title = " ".join(words[:3]) or "untitled"
        articles.append(Article(id=f"a{number}", title=title, body=body, published=published))
    return articles


def test_answers_are_the_same_on_both_paths_years_included(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    articles = dated_articles(1500, seed=21)
    library = build_library(Corpus(tuple(articles), ()), ())
    loaded = load_snapshot(save_snapshot(library, tmp_path, "years"))
    expected_years = [-1 if a.published is None else a.published.year for a in articles]
    assert library.publication_years().tolist() == expected_years
    assert loaded.publication_years().tolist() == expected_years  # read from the snapshot's arrays
    rng = random.Random(22)
    questions = [
        " ".join(rng.choice(articles).body.split()[:4]) + rng.choice(["", " 2004", " 2005 2003", " 2031"])
        for _ in range(60)
    ]
    for question in questions:
        pages = []
        for fast in (True, False):
            monkeypatch.setattr(index_module, "COMPILED", fast)
            for answering in (library, loaded):
                for offset in (0, 5):
                    result = answering.search(question, limit=5, offset=offset, min_relevance=0.3)
                    pages.append(([(h.article.id, h.score) for h in result.hits], result.total))
                # The count on its own, also where no article is of the year asked (2031).
                terms = tuple(question.split())
                pages.append(([], answering.count_relevant(terms, 0.2, cap=40)))
                pages.append(([], answering.count_relevant((*terms, "2031"), 0.01)))
        assert [pages[i::4] for i in range(4)] == [[pages[i]] * 4 for i in range(4)]


def test_the_compiled_count_applies_the_whole_year_rule(compiled: kernels.Kernels) -> None:
    # What docs_holding finds must be exactly the holders of a needed term that relevance_of lets pass,
    # undated articles and years no article names included, on one index and on segments.
    articles = dated_articles(1200, seed=23)
    whole = build_library(Corpus(tuple(articles), ()), ())
    segmented = extend_library(build_library(Corpus(tuple(articles[:700]), ()), ()), articles[700:])
    assert isinstance(segmented.article_index, SegmentedIndex)
    rng = random.Random(24)
    years_asked = 0
    for library in (whole, segmented):
        for _ in range(80):
            words = terms(rng.choice(articles).body)[:3] or ["zzz"]
            query = (*words, *rng.sample(["2003", "2004", "2005", "2031"], rng.randint(1, 2)))
            weights = library.term_weights(query)
            dated = {term: int(term) for term in weights if term.isdigit()}
            for share, needed in ((0.3, query[:2]), (0.5, query), (0.3, query[-1:])):
                holders = np.unique(
                    np.concatenate([library.article_index.postings(t) for t in needed]).astype(np.int64)
                )
                passing = holders[library.relevance_of(query, holders) >= share] if len(holders) else holders
                marks = np.zeros(library.article_count, dtype=np.uint8)
                for scratch in (None, marks):
                    found = library.article_index.docs_holding(
                        weights,
                        needed,
                        share,
                        10_000,
                        dated=dated,
                        unnamed={t for t in dated if library.article_index.doc_freq(t) == 0},
                        years=library.publication_years(),
                        marks=scratch,
                    )
                    assert found is not None
                    assert found.tolist() == passing.tolist()
                assert not marks.any()
                years_asked += len(passing) > 0
    assert years_asked > 50


def fused_libraries() -> list[Library]:
    """News articles with exact duplicates (test_index's), and dated generated ones with titles."""
    return [news_library(), build_library(Corpus(tuple(dated_articles(900, seed=31)), ()), ())]


def fused_questions(library: Library, count: int, seed: int) -> list[list[str]]:
    """Words of random articles, some repeated, some unknown; and titles asked whole."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        article = rng.choice(library.articles)
        words = terms(article.title) if i % 4 == 0 else terms(article.body)
        query = [rng.choice(words) for _ in range(rng.randint(1, 6))] if words else ["zzz"]
        if i % 5 == 0:
            query.append(query[0])
        if i % 7 == 0:
            query.insert(0, "zzz-unknown")
        out.append(query)
    return out


def test_compiled_fused_ranking_is_the_full_ranking(compiled: kernels.Kernels) -> None:
    """One compiled pass over the three indexes gives the first articles of the full fused ranking: the
    same positions, scores bit for bit, best passages and tie order; its scratch comes back clean."""
    answered = 0
    for library in fused_libraries():
        for query in fused_questions(library, 150, seed=32):
            ranked, scores, passages = library.rank_articles(query)
            for count in (1, 3, 12, 48):
                found = library._compiled_top(query, count)
                assert found is not None
                top, top_scores, top_passages = found
                assert top.tolist() == ranked[:count].tolist()
                assert top_scores.tolist() == scores[:count].tolist()
                assert top_passages.tolist() == passages[:count].tolist()
                answered += len(top)
            acc, _, flag = library._fused_scratch()
            assert not acc.any() and not flag.any()
    assert answered > 5000


def test_fused_ranking_uncompiled_is_the_full_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    """fused_top as plain Python (what numba compiles) ranks the same."""
    plain = kernels.Kernels(
        kernels.top_k, kernels.exact_scores, kernels.held_weights, kernels.count_holding,
        kernels.fused_top, seconds=0.0, cached=False,
    )  # fmt: skip
    monkeypatch.setattr(library_module, "compiled_kernels", lambda: plain)
    library = build_library(Corpus(tuple(dated_articles(300, seed=33)), ()), ())
    for query in fused_questions(library, 40, seed=34):
        ranked, scores, passages = library.rank_articles(query)
        for count in (1, 5):
            found = library._compiled_top(query, count)
            assert found is not None
            assert [array.tolist() for array in found] == [
                ranked[:count].tolist(),
                scores[:count].tolist(),
                passages[:count].tolist(),
            ]


def test_a_library_holds_what_the_compiled_pass_relies_on(compiled: kernels.Kernels) -> None:
    """Each passage and title holds a term at most as often as its article (built here or loaded from a
    snapshot alike); indexes that break this are noticed where a broken bound meets a scored article,
    and the reference answers instead."""
    library = news_library()
    whole_index, title_index, passage_index = library.article_index, library.title_index, library.index
    assert isinstance(whole_index, BM25Index) and isinstance(title_index, BM25Index)
    assert isinstance(passage_index, BM25Index)  # (a library as built: one segment each)
    for position in range(0, library.article_count, 7):
        article = library.articles[position]
        whole = _doc_terms(whole_index, position)
        title = _doc_terms(title_index, position)
        assert title <= whole
        for passage in library.passages.of_article(position):
            assert _doc_terms(passage_index, passage) <= whole
        assert title == Counter(terms(article.title))
    tripled = [terms(passage.text) * 3 for passage in library.passages]
    broken = replace(library, index=BM25Index.build(tripled))
    assert any(broken._compiled_top(query, 3) is None for query in fused_questions(broken, 60, seed=35))


def _doc_terms(index: BM25Index, doc: int) -> Counter[str]:
    """The terms of one indexed document, each with how often the document holds it."""
    arrays = index.postings_arrays
    at = np.flatnonzero(arrays.doc_ids == doc)
    tids = np.searchsorted(arrays.indptr, at, side="right") - 1
    return Counter(
        {
            index.vocabulary[tid]: int(tf)
            for tid, tf in zip(tids.tolist(), arrays.tfs[at].tolist(), strict=True)
        }
    )


def _searched_both_ways(
    library: Library, monkeypatch: pytest.MonkeyPatch, question: str, limit: int, offset: int, share: float
) -> list[SearchResult]:
    """The page library.search gives with the compiled kernels, then with numpy (COMPILED on, then off)."""
    results = []
    for fast in (True, False):
        monkeypatch.setattr(index_module, "COMPILED", fast)
        results.append(library.search(question, limit=limit, offset=offset, min_relevance=share))
    return results


def _passing_in_rank_order(
    library: Library, query_terms: list[str], share: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_], list[tuple[int, float]]]:
    """The full ranking (positions, scores), which of it holds `share` of the question, and those that do
    as (position, score) in ranking order: what search's pages must show, whatever the path."""
    ranked, scores, _ = library.rank_articles(query_terms)
    passing = library.relevance_of(query_terms, ranked) >= share
    return ranked, scores, passing, list(zip(ranked[passing].tolist(), scores[passing].tolist(), strict=True))


def test_search_answers_are_the_same_on_both_paths(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole answers (articles, scores, snippets with their highlights, passages, counts) do not depend
    on which path ranked them."""
    library = news_library()
    rng = random.Random(36)
    frames = ["{}", "how many {}?", "who {}", "when did {}", "what about {}"]
    for _ in range(80):
        words = rng.choice(library.articles).body.split()
        question = rng.choice(frames).format(" ".join(rng.choice(words) for _ in range(rng.randint(1, 5))))
        for offset in (0, 3):
            answers = [
                ([(h.article.id, h.score, h.snippet, h.passage) for h in result.hits], result.total)
                for result in _searched_both_ways(library, monkeypatch, question, 3, offset, 0.3)
            ]
            assert answers[0] == answers[1]


def test_a_page_crowded_out_by_weak_matches_is_the_best_of_those_that_pass(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long questions: the best-scored articles often hold too little of the question to answer it.
    The page is then the best of those that do pass the relevance rule, in the full ranking's order,
    on both paths (the fewer-than-the-cap case ranks just those instead of deepening the ranking)."""
    library = build_library(Corpus(tuple(dated_articles(1500, seed=23)), ()), ())
    rng = random.Random(37)
    crowded = 0
    for _ in range(60):
        words = rng.choice(library.articles).body.split()
        question = " ".join(rng.choice(words) for _ in range(rng.randint(8, 25)))
        query_terms = list(Query.of(question).terms)
        _, _, passing, expected = _passing_in_rank_order(library, query_terms, 0.45)
        for offset in (0, 4):
            wanted = offset + 4
            if int(passing[:wanted].sum()) < min(wanted, int(passing.sum())):
                crowded += 1
            for result in _searched_both_ways(library, monkeypatch, question, 4, offset, 0.45):
                got = [(library.position(h.article.id), h.score) for h in result.hits]
                assert got == expected[offset : offset + 4]
                assert result.total == min(len(expected), library_module.MATCH_COUNT_CAP)
    assert crowded >= 10  # the case this test is about did come up


def test_a_question_naming_a_year_pages_through_the_stories_of_that_year(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A question naming a year ranks a deeper first page (YEAR_PAGE_DEPTH), since stories of other years
    often score best and the rule sets them aside; the page is still the best of the stories that pass,
    in the full ranking's order, whether they lie within that depth or below it, on both paths."""
    library = build_library(Corpus(tuple(dated_articles(1500, seed=29)), ()), ())
    rng = random.Random(41)
    within = beyond = 0
    for _ in range(150):
        words = rng.choice(library.articles).body.split()
        year = rng.choice(["2003", "2004", "2005", "2006"])
        question = " ".join([*(rng.choice(words) for _ in range(rng.randint(1, 4))), year])
        query_terms = list(Query.of(question).terms)
        ranked, scores, passing, expected = _passing_in_rank_order(library, query_terms, 0.3)
        if not len(ranked) or not passing[0] or library.misses_the_point(query_terms, int(ranked[0]), scores):
            expected = []  # the best story does not answer: the archive has no answer
        for offset in (0, 6):
            wanted = offset + 3
            last = np.flatnonzero(passing)[: min(wanted, len(expected))]
            if expected and last[-1] >= wanted:  # (stories of other years crowd this page)
                if last[-1] < library_module.YEAR_PAGE_DEPTH:
                    within += 1
                else:
                    beyond += 1
            for result in _searched_both_ways(library, monkeypatch, question, 3, offset, 0.3):
                got = [(library.position(h.article.id), h.score) for h in result.hits]
                assert got == expected[offset : offset + 3]
    assert within >= 5 and beyond >= 5  # both cases this test is about came up


def test_the_count_holds_undated_stories_to_a_year_after_the_present_on_both_paths(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Undated stories name 2004 and 2005, three plan for 2007: the count of a question about the 2007
    cup final passes only the stories naming 2007, on both paths, while one about 2005 (the archive's
    present) also passes the undated stories on the cup final that do not name it."""
    council = [
        Article(
            id=f"c{i}",
            title=f"Budget {i}",
            body=f"The council of district {i} set its {year} budget."
            + (" Its team reached the cup final." if i % 3 == 0 else ""),
        )
        for i, year in enumerate([2004] * 30 + [2005] * 25)
    ]
    plans = [
        Article(id=f"p{i}", title=f"Ground {i}", body=f"The cup final of district {i} moves in 2007.")
        for i in range(3)
    ]
    library = build_library(Corpus((*council, *plans), ()), ())
    assert library.present_year() == 2005
    counts = {}
    for fast in (True, False):
        monkeypatch.setattr(index_module, "COMPILED", fast)
        counts[fast] = [
            library.relevant_articles(["cup", "final", year], 0.3).tolist() for year in ("2005", "2007")
        ]
    assert counts[True] == counts[False]
    in_2005, in_2007 = counts[True]
    assert sorted(library.articles[i].id for i in in_2007) == ["p0", "p1", "p2"]
    cup_final = {a.id for a in council if "cup final" in a.body}
    assert cup_final <= {library.articles[i].id for i in in_2005}


def test_the_compiled_pass_reads_a_library_of_segments(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view that has taken in batches (and merged some) is ranked by the compiled pass segment by
    segment, with the archive's statistics and widened bounds: the full fused ranking's first articles,
    bit for bit. A view with dead articles is left to the reference path, and answers the same. The
    articles passing the relevance rule are found segment by segment and in the joined tail alike."""
    articles = dated_articles(1400, seed=41)
    view = build_library(Corpus(tuple(articles[:500]), ()), ())
    batches = [(520, ()), (521, ()), (700, ()), (705, ()), (900, ()), (1000, ("a3", "a510")), (1400, ())]
    start = 500
    applied = 0
    cases = ((0.3, 1000), (0.5, 1000), (0.3, 7))
    tails = 0
    for round_number, (stop, removed) in enumerate(batches):
        view = extend_library(view, articles[start:stop], removed=removed)
        start = stop
        if round_number % 2:
            view = merge_segments(view)
        assert isinstance(view.index, SegmentedIndex)
        dead = view.index.dead_count > 0
        assert isinstance(view.article_index, SegmentedIndex)
        tails += view.article_index._tail is not None  # (the newest segments, joined)
        for query in fused_questions(view, 40, seed=42 + round_number):
            ranked, scores, passages = view.rank_articles(query)
            for count in (1, 4, 20):
                found = view._compiled_top(query, count)
                weak = any(
                    index.doc_freq(term) and index.idf(term) <= 0
                    for index in (view.index, view.article_index, view.title_index)
                    for term in query
                )  # (a term in over half the texts: the pass, segmented or not, leaves it to the reference)
                if dead or weak:
                    assert found is None
                    found = view.top_articles(query, count)
                else:
                    assert found is not None
                    applied += 1
                top, top_scores, top_passages = found
                assert top.tolist() == ranked[:count].tolist()
                assert top_scores.tolist() == scores[:count].tolist()
                assert top_passages.tolist() == passages[:count].tolist()
            acc, _, flag = view._fused_scratch()
            assert not acc.any() and not flag.any()
            relevant = []
            for fast in (True, False):
                monkeypatch.setattr(index_module, "COMPILED", fast)
                relevant.append([view.relevant_articles(query, share, cap).tolist() for share, cap in cases])
            monkeypatch.setattr(index_module, "COMPILED", True)
            assert relevant[0] == relevant[1]
    assert applied > 500 and tails >= 2


def test_a_bound_rounded_to_float32_never_rounds_down() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [rng.random(20_000) * 10.0 ** rng.integers(-30, 30, 20_000), [0.0, 1.0, 2.0**-149, 3.4e38 / 2]]
    )
    for value in values.tolist():
        rounded = kernels._up32(value)
        assert isinstance(rounded, np.float32)
        assert float(rounded) >= value
        assert float(rounded) <= value * (1 + 2.0**-20) + 2.0**-148  # a few float32 steps at most


def test_the_count_beside_the_ranking_gives_the_same_answers_and_yields_when_busy(
    compiled: kernels.Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a large library (the threshold lowered to this one) the count runs on the helper thread while
    # the ranking runs here; the answers must be those of counting in line, also while the helper is
    # taken (then the count is done in line instead of waiting behind it).
    library = build_library(Corpus(tuple(dated_articles(1500, seed=41)), ()), ())
    monkeypatch.setattr(library_module, "COMPILE_FROM_PASSAGES", 0)
    rng = random.Random(42)
    questions = [" ".join(rng.choice(library.articles).body.split()[:5]) for _ in range(40)]
    counted_on: set[str] = set()
    read = library_module.Library.read_relevant

    def recording(self: Library, plan: library_module.CountPlan) -> object:
        counted_on.add(threading.current_thread().name)
        return read(self, plan)

    monkeypatch.setattr(library_module.Library, "read_relevant", recording)

    def answers() -> list[tuple[list[tuple[str, float]], int]]:
        pages = []
        for question in questions:
            result = library.search(question, limit=4, min_relevance=0.3)
            pages.append(([(hit.article.id, hit.score) for hit in result.hits], result.total))
        return pages

    beside = answers()
    assert any(name.startswith("newsbot-beside") for name in counted_on)
    assert sum(total > 0 for _, total in beside) > 20
    # A forked child has no helper thread of its parent's: it starts its own, and answers the same.
    context = multiprocessing.get_context("fork")
    inbox = context.SimpleQueue()
    child = context.Process(target=lambda: inbox.put(answers()), daemon=True)
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0, "the forked child did not answer"
    assert inbox.get() == beside
    counted_on.clear()
    release = threading.Event()
    taken = library_module._BESIDE.run(release.wait)
    assert taken is not None
    try:
        assert answers() == beside
        assert counted_on == {threading.current_thread().name}  # in line: the helper was busy
    finally:
        release.set()
        taken.result(timeout=10)
    monkeypatch.setattr(library_module, "_BESIDE", library_module._Beside())
    counted_on.clear()
    monkeypatch.setattr(library_module, "COMPILE_FROM_PASSAGES", 10**9)  # below the threshold: in line
    assert answers() == beside
    assert counted_on == {threading.current_thread().name}
    monkeypatch.setattr(library_module, "COMPILE_FROM_PASSAGES", 0)
    library = library.updated(count_beside=False)  # a view that counts in line whatever its size
    assert answers() == beside
    assert counted_on == {threading.current_thread().name}
