"""The systems compared on the same tokenised passages and questions: our BM25Index, rank_bm25's
BM25Okapi (the reference our scores must equal) and, when installed, bm25s and tantivy.

Each runner is meant to run in its own forked child (bench.measure.in_child): it builds, answers every
question for the top 10 one at a time, and reports build time, peak RSS growth, index size and latency.
run_in_turn then builds ours and tantivy side by side in one child and asks them each question in turn:
the machine's slower moments fall on both alike, so that ratio holds better between runs.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from bench.measure import Result, latencies, peak_growth_mb, reset_peak
from bench.queries import Question
from bot.core import kernels
from bot.core.index import BM25Index

K = 10
WARMUP = 20  # questions answered once before timing: first touches of pages and caches

Passages = Sequence[Sequence[str]]
Top = list[tuple[int, float]]


def run_newsbot(passages: Passages, questions: Sequence[Question]) -> Result:
    """Our index: build, then top-10 for every question; the rankings come back for the exactness check."""
    baseline = reset_peak()
    started = time.perf_counter()
    index = BM25Index.build(passages)
    build_s = time.perf_counter() - started
    compiled = kernels.compiled()  # compile (or load from the cache) before timing
    for question in questions[:WARMUP]:
        index.top_k(question.terms, K)
    settle()
    times: list[float] = []
    tops: list[Top] = []
    for question in questions:
        began = time.perf_counter()
        found = index.top_k(question.terms, K)
        times.append(time.perf_counter() - began)
        tops.append(found)
    vocabulary = index.vocabulary
    vocabulary_bytes = sum(map(sys.getsizeof, vocabulary)) + 8 * len(vocabulary) * 2  # strings, list, dict
    return {
        "build_s": round(build_s, 3),
        "peak_rss_mb": peak_growth_mb(baseline),
        "index_mb": round((index.nbytes + vocabulary_bytes) / 2**20, 1),
        "arrays_mb": round(index.nbytes / 2**20, 1),
        "postings": index.num_postings,
        "vocabulary": index.vocabulary_size,
        "compiled": compiled is not None,
        **latencies(times),
        "top": tops,
    }


def settle() -> None:
    """Collect garbage once and freeze what is left, as a long-running server would after loading.

    Without it a full collection over millions of token lists lands inside some timed query.
    """
    gc.collect()
    gc.freeze()


def _reference_top(scores: npt.NDArray[np.float64], k: int) -> list[int]:
    """rank-bm25's best k docs with a positive score: score desc, then doc id asc (our tie rule)."""
    if len(scores) > k:
        cut = np.partition(scores, len(scores) - k)[len(scores) - k]
        candidates = np.flatnonzero(scores >= cut)
    else:
        candidates = np.arange(len(scores))
    candidates = candidates[scores[candidates] > 0]
    order = np.lexsort((candidates, -scores[candidates]))[:k]
    return [int(d) for d in candidates[order]]


def run_rank_bm25(passages: Passages, questions: Sequence[Question], ours: Sequence[Top]) -> Result:
    """rank_bm25.BM25Okapi: build, top-10 per question, and how our rankings compare with its scores."""
    from rank_bm25 import BM25Okapi

    baseline = reset_peak()
    started = time.perf_counter()
    model = BM25Okapi(list(passages))
    build_s = time.perf_counter() - started
    built = peak_growth_mb(baseline)
    settle()
    times: list[float] = []
    agree = 0
    worst = 0.0
    for question, our_top in zip(questions, ours, strict=False):
        began = time.perf_counter()
        scores = model.get_scores(list(question.terms))
        top = _reference_top(scores, K)
        times.append(time.perf_counter() - began)
        agree += [doc for doc, _ in our_top] == top
        for doc, score in our_top:
            expected = float(scores[doc])
            worst = max(worst, abs(score - expected) / max(abs(expected), 1e-300))
    return {
        "build_s": round(build_s, 3),
        "peak_rss_mb": peak_growth_mb(baseline),
        "index_mb": built,  # Python dicts, not arrays: the RSS growth of the build stands in for the size
        **latencies(times),
        "compared": {"queries": len(times), "agree": agree, "max_rel_diff": worst},
    }


def bm25s_available() -> bool:
    """Whether the optional bm25s package is installed."""
    return importlib.util.find_spec("bm25s") is not None


def run_bm25s(passages: Passages, questions: Sequence[Question], backend: str | None = None) -> Result:
    """bm25s (Robertson variant, the closest to BM25Okapi; not score-identical): build and top-10, with
    `backend`, by default its numba one when numba is installed (its fastest single-thread retrieval)."""
    import bm25s

    if backend is None:
        backend = "numba" if importlib.util.find_spec("numba") is not None else "numpy"
    baseline = reset_peak()
    started = time.perf_counter()
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="robertson", backend=backend)
    retriever.index(list(map(list, passages)), show_progress=False)
    build_s = time.perf_counter() - started
    built = peak_growth_mb(baseline)
    known = set(getattr(retriever, "vocab_dict", {}) or {})
    for question in questions[:WARMUP]:  # (the first call compiles numba's functions)
        query = [t for t in question.terms if t in known] if known else list(question.terms)
        if query:
            retriever.retrieve([query], k=min(K, len(passages)), show_progress=False, n_threads=1)
    settle()
    times: list[float] = []
    skipped = 0
    for question in questions:
        query = [t for t in question.terms if t in known] if known else list(question.terms)
        if not query:
            skipped += 1
            continue
        began = time.perf_counter()
        retriever.retrieve([query], k=min(K, len(passages)), show_progress=False, n_threads=1)
        times.append(time.perf_counter() - began)
    return {
        "build_s": round(build_s, 3),
        "peak_rss_mb": peak_growth_mb(baseline),
        "index_mb": built,
        **latencies(times),
        "backend": backend,
        "skipped_queries": skipped,
    }


def tantivy_available() -> bool:
    """Whether the optional tantivy package (Python bindings of the Rust engine) is installed."""
    return importlib.util.find_spec("tantivy") is not None


def run_tantivy(passages: Passages, questions: Sequence[Question]) -> Result:
    """tantivy's BM25 (its own idf, so not score-identical): the same terms, joined by spaces and split
    again by its whitespace tokenizer; one in-memory segment; top-10 of a disjunction of term queries,
    without counting the matches (counting would turn off its block-max pruning)."""
    baseline = reset_peak()
    started = time.perf_counter()
    search, segments = _tantivy_search(passages)
    build_s = time.perf_counter() - started
    built = peak_growth_mb(baseline)
    asked = _tantivy_terms(questions)
    for terms in asked[:WARMUP]:
        if terms:
            search(terms)
    settle()
    times: list[float] = []
    skipped = 0
    for terms in asked:
        if not terms:
            skipped += 1
            continue
        began = time.perf_counter()
        search(terms)
        times.append(time.perf_counter() - began)
    return {
        "build_s": round(build_s, 3),
        "peak_rss_mb": peak_growth_mb(baseline),
        "index_mb": built,
        "segments": segments,
        **latencies(times),
        "skipped_queries": skipped,
    }


def _tantivy_search(passages: Passages) -> tuple[Callable[[Sequence[str]], object], int]:
    """tantivy over the passages (one indexing thread, as our build has) and its top-10 search, from the
    tokens on (the query is built inside the call, as our top_k analyses nothing either); with the number
    of segments it made."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
    schema = builder.build()
    index = tantivy.Index(schema)
    # A heap large enough for one segment at these sizes.
    writer = index.writer(heap_size=2_000_000_000, num_threads=1)
    for passage in passages:
        writer.add_document(tantivy.Document(body=" ".join(passage)))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    term, should, disjunction = tantivy.Query.term_query, tantivy.Occur.Should, tantivy.Query.boolean_query

    def search(terms: Sequence[str]) -> object:
        query = disjunction([(should, term(schema, "body", t)) for t in terms])
        return searcher.search(query, K, count=False)

    return search, int(searcher.num_segments)


def _tantivy_terms(questions: Sequence[Question]) -> list[list[str]]:
    """Each question's terms as tantivy can be asked them: its whitespace tokenizer cannot produce a term
    holding whitespace (our analyzer never makes one)."""
    return [[t for t in q.terms if t and not any(c.isspace() for c in t)] for q in questions]


IN_TURN_ROUNDS = 3


def run_in_turn(passages: Passages, questions: Sequence[Question], rounds: int = IN_TURN_ROUNDS) -> Result:
    """Our index and tantivy built side by side, then asked the same questions in turn: question by
    question, each system first every other time, `rounds` times over. Latencies of both and the ratios
    (tantivy's over ours: above 1 where ours is faster)."""
    index = BM25Index.build(passages)
    kernels.compiled()
    theirs, _ = _tantivy_search(passages)
    asked = [terms for terms in _tantivy_terms(questions) if terms]
    searches = {"newsbot": lambda terms: index.top_k(terms, K), "tantivy": theirs}
    return in_turn(searches, asked, rounds, over="tantivy", under="newsbot")


def in_turn(
    searches: dict[str, Callable[[Sequence[str]], object]],
    asked: Sequence[Sequence[str]],
    rounds: int,
    *,
    over: str,
    under: str,
) -> Result:
    """Each question asked of every system in turn (the order rotating from one question to the next),
    `rounds` times over, after a warm-up: each system's latencies, and p50 and p99 of `over` divided by
    those of `under`."""
    names = list(searches)
    for terms in asked[:WARMUP]:
        for name in names:
            searches[name](terms)
    settle()
    times: dict[str, list[float]] = {name: [] for name in names}
    turn = 0
    for _ in range(rounds):
        for terms in asked:
            for step in range(len(names)):
                name = names[(turn + step) % len(names)]
                began = time.perf_counter()
                searches[name](terms)
                times[name].append(time.perf_counter() - began)
            turn += 1
    result: Result = {"rounds": rounds, "questions": len(asked)}
    for name in names:
        result[name] = latencies(times[name])
    for figure in ("p50_ms", "p99_ms"):
        above, below = result[over][figure], result[under][figure]
        result[f"{figure[:3]}_ratio"] = round(above / below, 2) if above and below else None
    return result
