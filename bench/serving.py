"""Library-level figures: answers through Library.search, snapshot save and load, loading a JSON Lines
corpus, and answer latency on a running event loop while Runtime.reload() rebuilds a big corpus.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.measure import Result, in_child, latencies, peak_growth_mb, reset_peak
from bench.queries import Question
from bench.synth import RealCorpus, SyntheticPassages, write_jsonl_corpus
from bench.systems import K, settle
from bot.core import kernels
from bot.core.corpus import load_corpus
from bot.core.index import BM25Index
from bot.core.library import MATCH_COUNT_CAP, Library, PassageTable, assemble_library
from bot.core.models import Article
from bot.core.snapshot import load_snapshot, save_snapshot
from bot.core.topics import TopicMatcher
from bot.runtime import PROCESS_BUILD_FROM_BYTES, Runtime, corpus_bytes, load_configured_library
from bot.settings import Settings
from bot.store import Store

BUNDLED_TOPICS = Path(__file__).resolve().parents[1] / "corpus" / "topics.yaml"
ANSWER_EVERY_S = 0.02  # the pace of the simulated chat while a reload runs


def library_from_synthetic(synthetic: SyntheticPassages, seed: int) -> Library:
    """A Library over synthetic passages: bodies spelled with their terms, the indexes built from them as is
    (each passage's leading title terms become the article's title)."""
    rng = np.random.default_rng(seed)
    passages = synthetic.passages
    count = len(synthetic.title_lengths)
    bounds = np.searchsorted(synthetic.owners, np.arange(count + 1)).tolist()
    seconds = rng.integers(0, 2 * 365 * 86400, count).tolist()
    epoch = datetime(2004, 1, 1, tzinfo=UTC)
    articles: list[Article] = []
    starts: list[int] = []
    ends: list[int] = []
    for a, title_length in enumerate(synthetic.title_lengths.tolist()):
        lo, hi = bounds[a], bounds[a + 1]
        paragraphs = [" ".join(passages[i][title_length:]) for i in range(lo, hi)]
        at = 0
        for paragraph in paragraphs:
            starts.append(at)
            ends.append(at + len(paragraph))
            at += len(paragraph) + 2
        title = " ".join(passages[lo][:title_length]) if hi > lo else ""
        articles.append(
            Article(
                id=f"synth-{a}",
                title=title or "Untitled",
                body="\n\n".join(paragraphs),
                published=epoch + timedelta(seconds=seconds[a]),
                source="Synthetic wire",
            )
        )
    started = time.perf_counter()
    # The library's three indexes: passages (body words only), whole articles (title and body) and titles.
    titles = [
        list(passages[bounds[a]][:length]) if bounds[a + 1] > bounds[a] else []
        for a, length in enumerate(synthetic.title_lengths.tolist())
    ]
    owners = synthetic.owners.tolist()
    lengths = synthetic.title_lengths.tolist()
    bodies = [passages[i][lengths[owners[i]] :] for i in range(len(passages))]
    whole = [
        titles[a] + [t for i in range(bounds[a], bounds[a + 1]) for t in bodies[i]] for a in range(count)
    ]
    indexes = (BM25Index.build(bodies), BM25Index.build(whole), BM25Index.build(titles))
    del whole, bodies
    table = PassageTable(
        tuple(articles),
        synthetic.owners.astype(np.int32),
        np.asarray(starts, dtype=np.int32),
        np.asarray(ends, dtype=np.int32),
    )
    return assemble_library(
        table.articles,
        TopicMatcher(()),
        table,
        indexes,
        ((),) * count,
        build_seconds=time.perf_counter() - started,
    )


SEARCH_PASSES = 3  # passes over the questions: a p99 of 900 timings moves less than one of 300


def measure_search(library: Library, questions: Sequence[Question], passes: int = SEARCH_PASSES) -> Result:
    """Library.search (analysis, top articles, count, snippets) for every question, one at a time, once
    the compiled kernels are ready (a second after a start with numba's cache warm), `passes` times over;
    after each search the library's own index answers the same question (top_k, k = 10), so the ratio of
    their p99s is taken from one process in the same moments."""
    kernels.compiled()
    for question in questions[:20]:
        library.search(question.text)
        library.index.top_k(question.terms, K)
    settle()
    times: list[float] = []
    index_times: list[float] = []
    capped = 0
    for number in range(passes):
        for question in questions:
            began = time.perf_counter()
            result = library.search(question.text)
            times.append(time.perf_counter() - began)
            began = time.perf_counter()
            library.index.top_k(question.terms, K)
            index_times.append(time.perf_counter() - began)
            capped += number == 0 and result.total >= MATCH_COUNT_CAP
    timed = latencies(times)
    index = latencies(index_times)
    ratio = timed["p99_ms"] / index["p99_ms"] if timed["p99_ms"] and index["p99_ms"] else None
    return {
        "articles": library.article_count,
        "passages": len(library.passages),
        "passes": passes,
        **timed,
        "index_top_k": index,
        "p99_over_index_p99": None if ratio is None else round(ratio, 2),
        "totals_at_cap": capped,
    }


def measure_snapshot(library: Library, root: Path, questions: Sequence[Question]) -> Result:
    """Save the library as a snapshot, then load it in a fresh child process (page cache warm)."""
    started = time.perf_counter()
    directory = save_snapshot(library, root, "bench")
    save_s = time.perf_counter() - started
    size = sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
    expected = [[hit.article.id for hit in library.search(q.text).hits] for q in questions[:20]]

    def load() -> Result:
        baseline = reset_peak()
        began = time.perf_counter()
        loaded = load_snapshot(directory)
        load_s = time.perf_counter() - began
        began = time.perf_counter()
        first = loaded.search(questions[0].text)
        first_ms = (time.perf_counter() - began) * 1000
        same = [[hit.article.id for hit in loaded.search(q.text).hits] for q in questions[:20]] == expected
        return {
            "load_s": round(load_s, 3),
            "first_search_ms": round(first_ms, 2),
            "same_answers": same and bool(first.hits or not expected[0]),
            "load_peak_rss_mb": peak_growth_mb(baseline),
        }

    return {
        "passages": len(library.passages),
        "save_s": round(save_s, 3),
        "disk_mb": round(size / 2**20, 1),
        **in_child(load),
    }


def write_corpus(real: RealCorpus, directory: Path, count: int, seed: int) -> Result:
    """Write `count` synthetic articles as JSON Lines (and the bundled topics file) under directory."""
    began = time.perf_counter()
    written = write_jsonl_corpus(real, directory, count, seed)
    if BUNDLED_TOPICS.is_file():
        shutil.copy(BUNDLED_TOPICS, directory / "topics.yaml")
    return {
        "articles": count,
        "mb": round(written / 2**20, 1),
        "write_s": round(time.perf_counter() - began, 2),
    }


def measure_corpus_load(directory: Path) -> Result:
    """load_corpus over the directory, with a progress bar on stderr."""
    from tqdm import tqdm

    bar = tqdm(desc="loading JSON Lines", unit="file", file=sys.stderr, leave=False)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    began = time.perf_counter()
    corpus = load_corpus(directory, progress=progress)
    seconds = time.perf_counter() - began
    bar.close()
    return {
        "articles": len(corpus.articles),
        "problems": len(corpus.problems),
        "load_s": round(seconds, 2),
        "articles_per_s": round(len(corpus.articles) / seconds) if seconds > 0 else None,
    }


def measure_reload(
    corpus_dir: Path,
    work: Path,
    serving: Library,
    questions: Sequence[Question],
    *,
    window_s: float = 1.0,
) -> Result:
    """Answer questions on an event loop every 20 ms while Runtime.reload() indexes corpus_dir (and for
    window_s seconds before and after it, for comparison)."""
    return asyncio.run(_reload(corpus_dir, work, serving, questions, window_s))


async def _reload(
    corpus_dir: Path, work: Path, serving: Library, questions: Sequence[Question], window_s: float
) -> Result:
    settings = Settings(
        corpus_dir=corpus_dir,
        database=work / "newsbot.sqlite3",
        snapshot_dir=work / "snapshots",
        corpus_poll_seconds=0,
    )
    warnings = _Warnings()
    logging.getLogger("bot.runtime").addHandler(warnings)
    store = await Store.open(settings.database)
    try:
        runtime = Runtime(settings=settings, store=store, library=serving)
        before = await _answer(runtime, questions, lambda: False, limit_s=window_s)
        task = asyncio.create_task(runtime.reload(full=True))
        began = time.perf_counter()
        during = await _answer(runtime, questions, task.done, limit_s=3600.0)
        outcome = await task
        reload_s = time.perf_counter() - began
        after = await _answer(runtime, questions, lambda: False, limit_s=window_s)
        restart_began = time.perf_counter()
        restarted = await asyncio.to_thread(load_configured_library, settings)
        restart_s = time.perf_counter() - restart_began
    finally:
        await store.close()
        logging.getLogger("bot.runtime").removeHandler(warnings)
    in_process = corpus_bytes(corpus_dir) >= PROCESS_BUILD_FROM_BYTES and not any(
        "process" in message for message in warnings.messages
    )
    return {
        "articles": outcome.after,
        "reload_s": round(reload_s, 2),
        "builder": "process" if in_process else "thread",
        "warnings": warnings.messages,
        "error": outcome.error,
        "answers_before": before,
        "answers_during": during,
        "answers_after": after,
        "restart_from_snapshot_s": round(restart_s, 2),
        "restart_articles": restarted.article_count,
    }


class _Warnings(logging.Handler):
    """Collects the runtime's warnings (e.g. that the build fell back to a thread)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def _answer(
    runtime: Runtime, questions: Sequence[Question], stop: Callable[[], bool], *, limit_s: float
) -> Result:
    """Answer one question every ANSWER_EVERY_S until stop() or limit_s; latency counts from the due time."""
    times: list[float] = []
    started = time.perf_counter()
    i = 0
    while not stop() and time.perf_counter() - started < limit_s:
        due = started + i * ANSWER_EVERY_S
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        runtime.library.search(questions[i % len(questions)].text)
        times.append(time.perf_counter() - due)  # waiting for a blocked loop counts against the answer
        i += 1
    return latencies(times)
