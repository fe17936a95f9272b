"""BM25Index: exactly rank-bm25's BM25Okapi scores, matches decided from postings, top-k order (merged or
accumulated and pruned), snapshots; and Library.search's top-k path giving the full ranking's first pages."""

from __future__ import annotations

import gzip
import itertools
import json
import random
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

import bot.core.index as index_module
import bot.core.library as library_module
from bot.core.index import BM25Index
from bot.core.library import MATCH_COUNT_CAP, Library, build_library
from bot.core.models import Article, Corpus
from bot.core.text import terms

BBC = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc_news" / "bbc_news.jsonl.gz"


def generated_corpus(n_docs: int, seed: int) -> list[list[str]]:
    """Deterministic Zipf-ish documents with a few topics, so terms co-occur like real news."""
    rng = random.Random(seed)
    common = [f"w{i}" for i in range(400)]
    weights = [1 / (i + 1) for i in range(len(common))]
    topics = [[f"t{t}x{i}" for i in range(12)] for t in range(25)]
    docs = []
    for _ in range(n_docs):
        topic = rng.choice(topics)
        length = rng.randint(3, 60)
        doc = rng.choices(common, weights, k=length) + rng.choices(topic, k=rng.randint(0, 6))
        rng.shuffle(doc)
        docs.append(doc)
    return docs


@cache
def passages() -> tuple[tuple[str, ...], ...]:
    """BBC News paragraphs tokenised by our analyzer when the shared data is there, else generated docs."""
    if BBC.is_file():
        docs: list[list[str]] = []
        with gzip.open(BBC, "rt", encoding="utf-8") as handle:
            for line in handle:
                docs.extend(terms(p) for p in json.loads(line)["body"].split("\n\n") if p.strip())
                if len(docs) >= 3000:
                    break
        return tuple(map(tuple, docs))
    return tuple(map(tuple, generated_corpus(400, seed=1)))


def queries(docs: tuple[tuple[str, ...], ...], count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        doc = rng.choice([d for d in docs if d])
        query = [rng.choice(doc) for _ in range(rng.randint(1, 6))]
        if i % 7 == 0:
            query.append(query[0])  # repeated terms count twice in rank-bm25
        if i % 10 == 0:
            query.append("zzz-not-in-any-document")
        out.append(query)
    return out


@pytest.fixture(scope="module")
def corpus() -> tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi]:
    docs = passages()
    assert len(docs) >= 300
    return docs, BM25Index.build(docs), BM25Okapi([list(d) for d in docs])


def test_scores_equal_rank_bm25(corpus: tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi]) -> None:
    docs, index, reference = corpus
    checked = 0
    for query in queries(docs, 100, seed=2):
        expected = reference.get_scores(query)
        found, scores = index.match(query)
        containing = [d for d, doc in enumerate(docs) if set(query) & set(doc)]
        assert found.tolist() == containing  # exactly the docs holding a query term, ascending
        assert set(np.flatnonzero(expected).tolist()) <= set(containing)
        relative = np.abs(scores - expected[found]) / np.maximum(np.abs(expected[found]), 1e-300)
        assert relative.max(initial=0.0) <= 1e-9
        outside = np.setdiff1d(np.arange(len(docs)), found)
        assert not expected[outside].any()
        checked += len(found)
    assert checked > 1000


def test_idf_and_doc_freq_equal_rank_bm25(
    corpus: tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi],
) -> None:
    docs, index, reference = corpus
    assert index.num_docs == len(docs)
    assert index.vocabulary_size == len(reference.idf)
    assert index.average_idf == pytest.approx(reference.average_idf, rel=1e-12)
    for term, idf in list(reference.idf.items())[:2000]:
        assert index.idf(term) == pytest.approx(idf, rel=1e-12, abs=1e-12)
    term = docs[0][0]
    assert index.doc_freq(term) == sum(term in set(doc) for doc in docs)
    assert index.idf("zzz-unknown") == 0.0 and index.doc_freq("zzz-unknown") == 0
    assert index.nbytes > 0


def expected_top(reference: BM25Okapi, query: list[str], k: int, tie_rank: np.ndarray, docs) -> list[int]:  # type: ignore[no-untyped-def]
    scores = reference.get_scores(query)
    holding = np.array([d for d, doc in enumerate(docs) if set(query) & set(doc)], dtype=np.int64)
    if not len(holding):
        return []
    order = np.lexsort((holding, tie_rank[holding], -scores[holding]))
    top: list[int] = holding[order][:k].tolist()
    return top


def test_top_k_follows_rank_bm25_order_with_the_tie_rule(
    corpus: tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi],
) -> None:
    docs, index, reference = corpus
    tie_rank = np.random.default_rng(3).integers(0, 5, size=len(docs))
    for query in queries(docs, 60, seed=4):
        for k in (1, 10, 50):
            got = index.top_k(query, k, tie_rank=tie_rank)
            assert [d for d, _ in got] == expected_top(reference, query, k, tie_rank, docs)
            scores = reference.get_scores(query)
            assert [s for _, s in got] == pytest.approx([scores[d] for d, _ in got], rel=1e-9)


@pytest.fixture
def accumulate_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """top_k takes the accumulate-and-prune path for every query, not only for long posting lists."""
    monkeypatch.setattr(index_module, "_ACCUMULATE_FROM", 0)


@pytest.mark.usefixtures("accumulate_always")
def test_accumulated_top_k_is_the_full_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = generated_corpus(4000, seed=5)
    index = BM25Index.build(docs)
    reference = BM25Okapi(docs)
    tie_rank = np.random.default_rng(8).integers(0, 3, size=len(docs))
    probed = 0
    original_lookup = BM25Index._lookup

    def counting_lookup(self: BM25Index, tid: int, found: np.ndarray) -> np.ndarray:
        nonlocal probed
        probed += 1
        return original_lookup(self, tid, found)

    monkeypatch.setattr(BM25Index, "_lookup", counting_lookup)
    rng = random.Random(6)
    accumulated = 0
    for _ in range(80):
        topic_words = [w for w in rng.choice(docs) if w.startswith("t")]
        query = topic_words[:2] + [f"w{rng.randrange(30)}" for _ in range(rng.randint(1, 4))]
        accumulated += index._accumulated(index._known(query), 10) is not None
        for k in (1, 10, 40):
            got = index.top_k(query, k, tie_rank=tie_rank)
            assert [d for d, _ in got] == expected_top(reference, query, k, tie_rank, docs)
            scores = reference.get_scores(query)
            assert [s for _, s in got] == [scores[d] for d, _ in got]  # bit for bit
    assert accumulated >= 60  # the accumulating path really ran
    assert probed >= 20  # and it stopped reading lists early, probing the rest for the candidates


@pytest.mark.usefixtures("accumulate_always")
def test_accumulated_top_k_on_news_passages(
    corpus: tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi],
) -> None:
    docs, index, reference = corpus
    tie_rank = np.random.default_rng(3).integers(0, 5, size=len(docs))
    for query in queries(docs, 60, seed=9):
        for k in (1, 10, 50):
            assert [d for d, _ in index.top_k(query, k, tie_rank=tie_rank)] == expected_top(
                reference, query, k, tie_rank, docs
            )


@pytest.mark.usefixtures("accumulate_always")
def test_ties_across_the_cut_keep_the_tie_rule() -> None:
    # 30 identical documents tie for first place: which 10 come back is decided by tie_rank, then doc id.
    docs = [["storm", "surge", "coast"]] * 30 + [["storm", "calm"], ["surge"], ["coast", "storm", "x"]] * 20
    index = BM25Index.build(docs)
    reference = BM25Okapi(docs)
    tie_rank = np.array([i % 4 for i in range(len(docs))])
    for query in (["storm", "surge", "coast"], ["surge", "storm"], ["coast", "coast", "storm"]):
        for k in (5, 10, 31, 200):
            got = index.top_k(query, k, tie_rank=tie_rank)
            assert [d for d, _ in got] == expected_top(reference, query, k, tie_rank, docs)


def test_impact_levels_bound_every_weight(
    corpus: tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi],
) -> None:
    _, index, _ = corpus
    checked = 0
    for term in list(index.vocabulary)[:3000]:
        tid = index._term_ids[term]
        start, end = index._postings(tid)
        weight = index._weigh(tid, index._tfs[start:end], index._doc_ids[start:end]) / index._idf[tid]
        levels = index._impacts[start:end].astype(np.float64)
        assert np.all(levels * index._step <= weight * (1 + 1e-12))
        assert np.all(weight < (levels + 1) * index._step)
        assert weight.max() == pytest.approx(index._max_weight[tid], rel=1e-12)
        checked += end - start
    assert checked > 10_000


def test_top_k_from_several_threads_at_once(
    corpus: tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    docs, index, _ = corpus
    asked = [q for q in queries(docs, 200, seed=11) if sum(index.doc_freq(t) for t in q) > 50]
    alone = [index.top_k(q, 10) for q in asked]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: index.top_k(q, 10), asked * 3))
    assert together == alone * 3


def test_postings_lists_the_docs_of_a_term() -> None:
    index = BM25Index.build([["a", "b"], ["b"], ["c", "b", "a"]])
    assert index.postings("a").tolist() == [0, 2]
    assert index.postings("b").tolist() == [0, 1, 2]
    assert index.postings("zzz").tolist() == []
    assert list(index.vocabulary) == ["a", "b", "c"]


def test_query_without_known_terms_matches_nothing(
    corpus: tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi],
) -> None:
    _, index, _ = corpus
    found, scores = index.match(["zzz-nothing", "qqq-nothing"])
    assert len(found) == 0 and len(scores) == 0
    assert index.top_k(["zzz-nothing"], 10) == []
    assert index.top_k([], 10) == []


def test_a_term_in_half_the_documents_still_matches() -> None:
    # idf = log(4 - 2 + 0.5) - log(2 + 0.5) = 0: rank-bm25 scores these real matches 0.
    docs = [["rare", "common"], ["common", "other"], ["third"], ["fourth"]]
    index = BM25Index.build(docs)
    reference = BM25Okapi(docs)
    found, scores = index.match(["common"])
    assert found.tolist() == [0, 1]
    assert scores.tolist() == [0.0, 0.0] == reference.get_scores(["common"])[[0, 1]].tolist()
    assert index.top_k(["common"], 5) == [(0, 0.0), (1, 0.0)]
    # a term in 3 of 4 docs has a negative idf: rank-bm25 floors it at epsilon * average idf
    docs = [["x", "a"], ["x", "b"], ["x", "c"], ["d"]]
    index = BM25Index.build(docs)
    reference = BM25Okapi(docs)
    assert index.idf("x") == pytest.approx(reference.idf["x"]) and index.idf("x") > 0
    assert [d for d, _ in index.top_k(["x"], 5)] == [0, 1, 2]


def test_tie_rank_orders_equal_scores_then_doc_id() -> None:
    docs = [["storm", "news"], ["storm", "news"], ["storm", "news"], ["calm"], ["storm", "news"]]
    index = BM25Index.build(docs)
    newest_first = np.array([2, 0, 1, 0, 0])
    assert [d for d, _ in index.top_k(["storm"], 4, tie_rank=newest_first)] == [1, 4, 2, 0]
    assert [d for d, _ in index.top_k(["storm"], 4)] == [0, 1, 2, 4]
    with pytest.raises(ValueError):
        index.top_k(["storm"], 3, tie_rank=np.zeros(2, dtype=np.int64))


def test_higher_term_frequency_and_rarer_terms_rank_first() -> None:
    docs = [["budget", "tax"], ["budget", "budget", "tax"], ["tax", "rise"], ["weather"], ["sport"]]
    index = BM25Index.build(docs)
    assert [d for d, _ in index.top_k(["budget"], 3)] == [1, 0]
    assert [d for d, _ in index.top_k(["tax", "rise"], 1)] == [2]


def test_empty_corpus_and_empty_documents() -> None:
    empty = BM25Index.build([])
    assert empty.num_docs == 0 and empty.top_k(["x"], 3) == []
    blank = BM25Index.build([[], []])
    assert blank.num_docs == 2 and blank.vocabulary_size == 0
    assert blank.match(["x"])[0].tolist() == []


def test_save_and_load_round_trip(
    tmp_path: Path, corpus: tuple[tuple[tuple[str, ...], ...], BM25Index, BM25Okapi]
) -> None:
    docs, index, _ = corpus
    index.save(tmp_path / "snap")
    for mmap in (True, False):
        loaded = BM25Index.load(tmp_path / "snap", mmap=mmap)
        assert loaded.num_docs == index.num_docs and loaded.vocabulary_size == index.vocabulary_size
        for query in queries(docs, 20, seed=7):
            assert loaded.top_k(query, 10) == index.top_k(query, 10)
            found, scores = loaded.match(query)
            expected_found, expected_scores = index.match(query)
            assert found.tolist() == expected_found.tolist()
            assert scores.tolist() == expected_scores.tolist()
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == [
        "doc_ids.npy",
        "doc_len.npy",
        "header.json",
        "impacts.npy",
        "indptr.npy",
        "max_weight.npy",
        "tfs.npy",
        "vocabulary.json",
    ]


def snapshot(tmp_path: Path) -> Path:
    directory = tmp_path / "snap"
    BM25Index.build([["alpha", "beta"], ["beta", "gamma", "gamma"], ["delta"]]).save(directory)
    return directory


def test_truncated_array_is_rejected(tmp_path: Path) -> None:
    directory = snapshot(tmp_path)
    data = (directory / "doc_ids.npy").read_bytes()
    (directory / "doc_ids.npy").write_bytes(data[: len(data) - 8])
    for mmap in (True, False):
        with pytest.raises(ValueError):
            BM25Index.load(directory, mmap=mmap)


def test_wrong_version_is_rejected(tmp_path: Path) -> None:
    directory = snapshot(tmp_path)
    header = json.loads((directory / "header.json").read_text())
    header["version"] = 999
    (directory / "header.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match="version"):
        BM25Index.load(directory)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "header.json").unlink(),
        lambda d: (d / "header.json").write_text("{not json"),
        lambda d: (d / "vocabulary.json").write_text('["alpha"]'),
        lambda d: np.save(d / "tfs.npy", np.ones(3, dtype=np.float64)),
        lambda d: np.save(d / "indptr.npy", np.array([0, 2, 1, 3, 4, 5], dtype=np.int64)),
        lambda d: (d / "doc_len.npy").write_bytes(b"garbage"),
        lambda d: np.save(d / "doc_ids.npy", np.array([0, 0, 1, 1, 9], dtype=np.int32)),
        lambda d: np.save(d / "impacts.npy", np.zeros(5, dtype=np.float32)),
    ],
    ids=[
        "no-header",
        "bad-json",
        "short-vocabulary",
        "float-tfs",
        "unsorted-indptr",
        "garbage-array",
        "doc-out-of-range",
        "float-impacts",
    ],
)
def test_corrupt_snapshot_is_rejected(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    directory = snapshot(tmp_path)
    damage(directory)
    with pytest.raises(ValueError):
        BM25Index.load(directory)


def test_object_arrays_are_never_unpickled(tmp_path: Path) -> None:
    directory = snapshot(tmp_path)
    np.save(directory / "doc_ids.npy", np.array([object()] * 5), allow_pickle=True)
    with pytest.raises(ValueError):
        BM25Index.load(directory)


# --------------------------------------------------------------------------- Library.search's top-k path


@cache
def news_library() -> Library:
    """BBC articles (or generated ones without the shared data), some duplicated so scores tie exactly."""
    bodies: list[tuple[str, str]] = []
    if BBC.is_file():
        with gzip.open(BBC, "rt", encoding="utf-8") as handle:
            for line in itertools.islice(handle, 400):
                row = json.loads(line)
                bodies.append((row["title"], row["body"]))
    else:
        for doc in generated_corpus(1200, seed=13):
            bodies.append((" ".join(doc[:4]), " ".join(doc)))
    articles = []
    for number, (title, body) in enumerate(bodies + bodies[:60]):  # 60 exact duplicates
        published = None if number % 9 == 0 else datetime(2024, 1, 1 + number % 5, tzinfo=UTC)
        articles.append(Article(id=f"a{number:04d}", title=title, body=body, published=published))
    return build_library(Corpus(tuple(articles), ()), ())


def library_questions(count: int, seed: int) -> list[list[str]]:
    library = news_library()
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = terms(rng.choice(library.articles).body)
        out.append([rng.choice(words) for _ in range(rng.randint(1, 5))])
    return out


@pytest.mark.parametrize("accumulate", [False, True], ids=["merge", "accumulate"])
def test_top_articles_are_the_full_ranking_cut_short(
    monkeypatch: pytest.MonkeyPatch, accumulate: bool
) -> None:
    if accumulate:
        monkeypatch.setattr(index_module, "_ACCUMULATE_FROM", 0)
    library = news_library()
    for query in library_questions(60, seed=14):
        ranked, scores, passages = library.rank_articles(query)
        for count in (1, 3, 10, 40):
            top, top_scores, top_passages = library.top_articles(query, count)
            assert top.tolist() == ranked[:count].tolist()
            assert top_scores.tolist() == scores[:count].tolist()
            assert top_passages.tolist() == passages[:count].tolist()


def test_top_articles_fall_back_to_the_full_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "_TOP_PASSAGES_LIMIT", 8)  # too few passages to ever suffice
    library = news_library()
    query = library_questions(1, seed=15)[0]
    ranked, _, _ = library.rank_articles(query)
    assert library.top_articles(query, 5)[0].tolist() == ranked[:5].tolist()


def test_search_pages_follow_the_ranking_and_count_matching_articles() -> None:
    library = news_library()
    for query_terms in library_questions(20, seed=16):
        question = " ".join(query_terms)
        ranked, _, _ = library.rank_articles(terms(question))
        pages = [library.search(question, limit=3, offset=offset, min_relevance=0) for offset in (0, 3, 6)]
        ids = [hit.article.id for page in pages for hit in page.hits]
        assert ids == [library.articles[p].id for p in ranked[:9]]
        assert pages[0].total == min(len(ranked), MATCH_COUNT_CAP)
        assert library.count_matches(terms(question), cap=5) == min(len(ranked), 5)


def test_search_pages_keep_only_relevant_articles_and_count_them() -> None:
    library = news_library()
    for query_terms in library_questions(30, seed=17):
        question = " ".join(query_terms)
        query = terms(question)
        ranked, scores, _ = library.rank_articles(query)
        relevance = library.relevance_of(query, ranked)
        pages = [library.search(question, limit=3, offset=offset, min_relevance=0.6) for offset in (0, 3, 6)]
        ids = [hit.article.id for page in pages for hit in page.hits]
        if not len(ranked) or relevance[0] < 0.6 or library.misses_the_point(query, int(ranked[0]), scores):
            assert ids == [] and pages[0].total == 0  # the best article is too weak: no answer at all
            continue
        relevant = ranked[relevance >= 0.6]
        assert ids == [library.articles[p].id for p in relevant[:9]]
        assert pages[0].total == min(len(relevant), MATCH_COUNT_CAP)
