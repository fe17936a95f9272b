"""An index of segments scores exactly like a fresh build of the live documents: after random additions,
deletions and merges, top_k (ids, scores, tie order), scores, counts and statistics are identical, on the
numpy path and the compiled one; and like rank-bm25 on small cases."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

import bot.core.index as index_module
from bot.core import kernels
from bot.core.index import BM25Index
from bot.core.segments import MERGE_FACTOR, SegmentedIndex
from tests.test_index import generated_corpus
from tests.test_kernels import random_queries


class Archive:
    """The documents a segmented view holds, kept beside it the simple way (a list), to compare."""

    def __init__(self, docs: list[list[str]]) -> None:
        self.docs = list(docs)
        self.view = SegmentedIndex([], tokens_of=self.tokens_of)
        if docs:
            self.view = self.view.with_segment(BM25Index.build(docs))

    def tokens_of(self, position: int) -> list[str]:
        return self.docs[position]

    def add(self, docs: list[list[str]]) -> None:
        self.docs.extend(docs)
        self.view = self.view.with_segment(BM25Index.build(docs), tokens_of=self.tokens_of)

    def delete(self, positions: list[int]) -> None:
        gone = set(positions)
        # First the list, since the new view numbers its docs like it (and may read their tokens).
        self.docs = [doc for position, doc in enumerate(self.docs) if position not in gone]
        self.view = self.view.without(np.asarray(positions, dtype=np.int64), tokens_of=self.tokens_of)

    def merge(self) -> None:
        plan = self.view.merge_plan()
        if plan is None and len(self.view.segments) > 1:
            plan = (0, len(self.view.segments) - 1)
        if plan is not None:
            self.view = self.view.merged(*plan, self.tokens_of)


def random_history(seed: int, steps: int = 12) -> Archive:
    rng = random.Random(seed)
    pool = generated_corpus(900, seed=seed)
    archive = Archive(pool[: rng.randint(0, 200)])
    taken = len(archive.docs)
    for _ in range(steps):
        action = rng.random()
        if action < 0.55 and taken < len(pool):
            size = rng.choice([1, 1, 2, 5, 20, 60])
            archive.add(pool[taken : taken + size])
            taken += size
        elif action < 0.85 and archive.docs:
            count = rng.choice([1, 1, 3, 10])
            archive.delete(rng.sample(range(len(archive.docs)), min(count, len(archive.docs))))
        else:
            archive.merge()
    return archive


def assert_same_as_fresh(archive: Archive, seed: int) -> None:
    view, docs = archive.view, archive.docs
    fresh = BM25Index.build(docs)
    assert view.num_docs == fresh.num_docs
    assert view.avgdl == fresh.avgdl
    assert view.average_idf == fresh.average_idf
    assert view.vocabulary_size == fresh.vocabulary_size
    if not docs:
        return
    tie_rank = np.random.default_rng(seed).integers(0, 4, size=len(docs)).astype(np.int64)
    everything = np.arange(len(docs), dtype=np.int64)
    for query in random_queries(docs, 25, seed=seed):
        for term in set(query):
            assert view.doc_freq(term) == fresh.doc_freq(term)
            assert view.idf(term) == fresh.idf(term)
            assert view.postings(term).tolist() == fresh.postings(term).tolist()
        for k in (1, 7, 30):
            assert view.top_k(query, k, tie_rank=tie_rank) == fresh.top_k(query, k, tie_rank=tie_rank)
        assert view.top_k(query, 10) == fresh.top_k(query, 10)
        assert view.scores_of(query, everything).tolist() == fresh.scores_of(query, everything).tolist()
        found, scores = view.match(query)
        expected, expected_scores = fresh.match(query)
        assert found.tolist() == expected.tolist() and scores.tolist() == expected_scores.tolist()
        weights = {term: float(i + 1) for i, term in enumerate(dict.fromkeys(query))}
        assert (
            view.held_weights(weights, everything).tolist()
            == fresh.held_weights(weights, everything).tolist()
        )


@pytest.mark.parametrize("seed", range(8))
def test_random_histories_score_like_a_fresh_build_on_numpy(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "COMPILED", False)
    assert_same_as_fresh(random_history(seed), seed)


@pytest.mark.parametrize("seed", range(8, 14))
def test_random_histories_score_like_a_fresh_build_compiled(seed: int) -> None:
    if kernels.compiled() is None:
        pytest.skip("numba is not installed")
    assert_same_as_fresh(random_history(seed, steps=16), seed)


def test_bounds_stay_valid_when_the_average_length_moves_far() -> None:
    """A segment of short docs joined by a batch of very long ones (the average length grows about
    fivefold) and the other way round: the widened bounds still find the exact top k."""
    if kernels.compiled() is None:
        pytest.skip("numba is not installed")
    rng = random.Random(5)
    short = [doc[:4] for doc in generated_corpus(3000, seed=5)]
    long = [doc * 8 for doc in generated_corpus(600, seed=6)]
    for first, second in ((short, long), (long, short)):
        archive = Archive(first)
        archive.add(second)
        assert archive.view.segments[0].index.avgdl != archive.view.avgdl
        fresh = BM25Index.build(archive.docs)
        for query in random_queries(archive.docs, 40, seed=rng.randint(0, 99)):
            assert archive.view.top_k(query, 10) == fresh.top_k(query, 10)


def test_widened_bounds_hold_every_posting_of_a_restated_segment() -> None:
    """The claim the early termination rests on: after the average length moves either way, each
    posting's weight under the new statistics lies within its impact level's widened bounds."""
    short = [doc[:4] for doc in generated_corpus(500, seed=3)]
    long = [doc * 6 for doc in generated_corpus(200, seed=4)]
    for first, second in ((short, long), (long, short)):
        archive = Archive(first)
        archive.add(second)
        restated = archive.view._restated[0]
        assert restated.loose
        tf = restated._tfs.astype(np.float64)
        terms_of_postings = np.repeat(np.arange(restated.vocabulary_size), np.diff(restated._indptr))
        weight = tf * (restated.k1 + 1) / (tf + restated._norm[restated._doc_ids])
        level = restated._impacts.astype(np.float64)
        assert np.all(weight >= level * restated._step * restated._low)
        assert np.all(weight < (level + 1) * restated._step * restated._high)
        assert np.all(weight <= restated._max_weight[terms_of_postings] * restated._high)


def test_small_cases_score_like_rank_bm25() -> None:
    docs = [["a", "b", "c"], ["a", "a", "d"], ["b", "e"], ["a", "c", "c", "f"], ["g"], ["a", "b"]]
    archive = Archive(docs[:3])
    archive.add(docs[3:5])
    archive.add(docs[5:])
    archive.delete([1])
    reference = BM25Okapi(archive.docs)
    for query in (["a"], ["a", "b"], ["c", "f", "a"], ["g", "g"]):
        scores = reference.get_scores(query)
        got = archive.view.scores_of(query, np.arange(len(archive.docs)))
        assert got.tolist() == scores.tolist()


def test_deleting_a_terms_first_occurrence_keeps_the_idf_floor_exact() -> None:
    """The idf floor sums the idf in the order terms first occur: deleting the doc where two terms
    first occurred moves them to a later doc that holds them the other way round."""
    docs = [["x", "y", "common"], ["common", "z"], ["y", "x", "common"], ["common"], ["common", "q"]]
    archive = Archive(docs)
    archive.delete([0])
    fresh = BM25Index.build(archive.docs)
    assert archive.view.average_idf == fresh.average_idf
    assert archive.view.idf("common") == fresh.idf("common")


def test_merge_plan_joins_a_full_tier_and_leaves_fewer_segments() -> None:
    pool = generated_corpus(400, seed=9)
    archive = Archive(pool[:300])
    for i in range(MERGE_FACTOR):
        archive.add(pool[300 + i * 5 : 305 + i * 5])
    assert len(archive.view.segments) == MERGE_FACTOR + 1
    assert archive.view.merge_plan() == (1, MERGE_FACTOR)
    before = archive.view
    archive.merge()
    assert len(archive.view.segments) == 2
    assert len(before.segments) == MERGE_FACTOR + 1  # the old view is untouched
    fresh = BM25Index.build(archive.docs)
    for query in random_queries(archive.docs, 10, seed=2):
        assert archive.view.top_k(query, 5) == fresh.top_k(query, 5) == before.top_k(query, 5)
