"""python -m bench.answer_path [--passages N] [--passes P] [--beside | --years]: where search's time goes.

The library python -m bench times (seeded synthetic passages from BBC News, the same questions), each
question answered once per pass so that its postings are as cold as in that run, with the parts of
Library.search timed as it runs them: the fused ranking (top_articles), the relevance rule (relevance_of,
misses_the_point), the capped count (relevant_articles; count_relevant without a threshold) and the hits
with their snippets ("rest" is the analysis of the question, the measure check, the call itself and any
wait for the count, whose reading on a large library runs beside the ranking on a helper thread: timed
there, as "read_relevant (beside)").
The index's own top_k (k=10) for each question follows in the same pass, so the ratios hold on a shared
machine. Prints p50 / p99 / mean in milliseconds per part; figures for the README come from
python -m bench. --beside instead compares the count beside the ranking with the count in line, on other
questions, in turn; --years the questions naming a year (of four seeds' questions) with a first page as
deep as any other's and with YEAR_PAGE_DEPTH, in turn.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

import bot.core.library as library_module
from bench.measure import Result, machine
from bench.queries import Question, make_questions
from bench.serving import library_from_synthetic
from bench.synth import BBC, read_bbc, real_corpus, synthetic_passages
from bench.systems import settle
from bot.core import kernels
from bot.core.library import Library

# (relevant_articles is the count as search runs it with a relevance threshold; count_relevant without.)
PARTS = (
    "top_articles",
    "relevance_of",
    "misses_the_point",
    "relevant_articles",
    "read_relevant",  # (the count's reading, when search does it itself: see below)
    "count_relevant",
    "hit",
)
BESIDE_PARTS = ("read_relevant",)  # what search may run on its helper thread (a large library's count)


BESIDE = " (beside)"  # suffix of a part that ran on the library's helper thread, beside the ranking


@contextmanager
def timed_parts(spent: dict[str, float]) -> Iterator[None]:
    """Library's parts, timed into `spent` (seconds per part name) while the block runs; a part called
    by another (the reference count asks relevance_of) counts in its caller only, and one run on
    another thread (the count beside the ranking) under its name + BESIDE: it overlaps the others."""
    originals = {name: getattr(Library, name) for name in PARTS}
    asking = threading.get_ident()
    depths: dict[int, int] = {}

    def timing(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            thread = threading.get_ident()
            depths[thread] = depths.get(thread, 0) + 1
            began = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                depths[thread] -= 1
                if not depths[thread]:
                    key = name if thread == asking else name + BESIDE
                    spent[key] = spent.get(key, 0.0) + time.perf_counter() - began

        return timed

    try:
        for name, method in originals.items():
            setattr(Library, name, timing(name, method))
        yield
    finally:
        for name, method in originals.items():
            setattr(Library, name, method)


def measure(library: Library, questions: Sequence[Question], passes: int) -> Result:
    """Per part, per question and pass: milliseconds, summarised as p50 / p99 / mean."""
    kernels.compiled()
    for question in questions[:20]:
        library.search(question.text)
    settle()
    names = (*PARTS, *(name + BESIDE for name in BESIDE_PARTS), "rest", "search", "index top_k")
    rows: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(passes):
        for question in questions:
            spent: dict[str, float] = {}
            with timed_parts(spent):
                began = time.perf_counter()
                library.search(question.text)
                whole = time.perf_counter() - began
            for name in rows:
                if name not in ("rest", "search", "index top_k"):
                    rows[name].append(spent.get(name, 0.0))
            # (a part beside overlaps the others: waiting for it is in "rest")
            rows["rest"].append(whole - sum(t for name, t in spent.items() if not name.endswith(BESIDE)))
            rows["search"].append(whole)
            began = time.perf_counter()
            library.index.top_k(question.terms, 10)
            rows["index top_k"].append(time.perf_counter() - began)
    return _summary(rows, (50, 99))


def compare_beside(library: Library, questions: Sequence[Question]) -> Result:
    """Library.search with the count beside the ranking (on the helper thread) and in line, question by
    question in turn (each question asked once, as in python -m bench), and the index's top_k after each:
    both ways share the machine's moments. Milliseconds, p50 / p90 / p99 / mean."""
    inline = library.updated(count_beside=False)
    kernels.compiled()
    for view in (library, inline):
        for question in questions[:20]:
            view.search(question.text)
    settle()
    rows: dict[str, list[float]] = {"beside": [], "in line": [], "index top_k": []}
    for number, question in enumerate(questions[20:]):
        name, view = ("beside", library) if number % 2 == 0 else ("in line", inline)
        began = time.perf_counter()
        view.search(question.text)
        rows[name].append(time.perf_counter() - began)
        began = time.perf_counter()
        library.index.top_k(question.terms, 10)
        rows["index top_k"].append(time.perf_counter() - began)
    return _compared(rows)


def compare_year_depth(library: Library, questions: Sequence[Question], passes: int = 3) -> Result:
    """Library.search on the questions naming a year, with the first page ranked as deep as any other
    question's (2) and as YEAR_PAGE_DEPTH, in turn, question by question; milliseconds, p50 / p90 / p99 /
    mean. Raises if the two ever answer differently: the depth may only change the time."""
    dated = [q for q in questions if library_module.years_named(q.terms)]
    deep = library_module.YEAR_PAGE_DEPTH
    depths = {"first page of 2": 2, f"first page of {deep}": deep}
    kernels.compiled()
    for question in questions[:20]:
        library.search(question.text)
    settle()
    rows: dict[str, list[float]] = {name: [] for name in depths}
    try:
        for _ in range(passes):
            for question in dated:
                answers = []
                for name, depth in depths.items():
                    library_module.YEAR_PAGE_DEPTH = depth
                    began = time.perf_counter()
                    result = library.search(question.text)
                    rows[name].append(time.perf_counter() - began)
                    answers.append(([(h.article.id, h.score) for h in result.hits], result.total))
                if answers[0] != answers[1]:
                    raise AssertionError(f"the page depth changed the answer to {question.text!r}")
    finally:
        library_module.YEAR_PAGE_DEPTH = deep
    return _compared(rows)


def _print_compared(library: Library, asked: str, what: str, counted: str, compared: Result) -> None:
    """A comparison's table (p50 / p90 / p99 / mean and how many were timed, per way), under the
    machine and the library's size (`asked`: what follows it on that line)."""
    print(machine())
    print(f"{library.article_count:,} articles, {len(library.passages):,} passages{asked}")
    print(f"| {what} | p50 ms | p90 ms | p99 ms | mean ms | {counted} |")
    print("|---|---|---|---|---|---|")
    keys = ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "questions")
    for name, figures in compared.items():
        print(f"| {name} | {' | '.join(str(figures[key]) for key in keys)} |")


def _compared(rows: dict[str, list[float]]) -> Result:
    """A comparison's rows as p50 / p90 / p99 / mean milliseconds, with how many were timed each way."""
    summary = _summary(rows, (50, 90, 99))
    for name, seconds in rows.items():
        summary[name]["questions"] = len(seconds)
    return summary


def _summary(rows: dict[str, list[float]], percentiles: Sequence[int]) -> Result:
    """Each row's seconds as milliseconds at the given percentiles ("p50_ms" …) and their mean."""
    summary: Result = {}
    for name, seconds in rows.items():
        values = np.asarray(seconds) * 1000
        figures = {f"p{q}_ms": round(float(np.percentile(values, q)), 3) for q in percentiles}
        summary[name] = figures | {"mean_ms": round(float(values.mean()), 3)}
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Build the library, time its parts, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.answer_path", description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000, help="synthetic passages (default 1M)")
    parser.add_argument("--passes", type=int, default=3, help="passes over the questions (default 3)")
    parser.add_argument("--questions", type=int, default=300, help="questions (default 300, as the bench)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic data and questions")
    parser.add_argument(
        "--beside",
        action="store_true",
        help="instead, compare the count beside the ranking with it in line (3 × --questions, in turn)",
    )
    parser.add_argument(
        "--years",
        action="store_true",
        help="instead, time the questions naming a year (of 4 × --questions) with a shallow and a deep "
        "first page, in turn",
    )
    args = parser.parse_args(argv)
    print(f"[answer_path] building {args.passages:,} passages", file=sys.stderr, flush=True)
    real = real_corpus(read_bbc(BBC))
    questions = make_questions(real, args.questions, args.seed)
    library = library_from_synthetic(synthetic_passages(real, args.passages, args.seed), args.seed)
    if args.years:
        seeds = range(args.seed, args.seed + 4)
        asked = [question for seed in seeds for question in make_questions(real, args.questions, seed)]
        compared = compare_year_depth(library, asked, args.passes)
        _print_compared(library, "", "Library.search, questions naming a year", "asked", compared)
        return 0
    if args.beside:
        seeds = range(args.seed + 1, args.seed + 4)
        more = [question for seed in seeds for question in make_questions(real, args.questions, seed)]
        compared = compare_beside(library, more)
        _print_compared(library, f", {len(more)} asked", "Library.search", "questions", compared)
        return 0
    summary = measure(library, questions, args.passes)
    print(machine())
    print(
        f"{library.article_count:,} articles, {len(library.passages):,} passages, {len(questions)} questions"
    )
    print("| part | p50 ms | p99 ms | mean ms |")
    print("|---|---|---|---|")
    for name, figures in summary.items():
        print(f"| {name} | {figures['p50_ms']} | {figures['p99_ms']} | {figures['mean_ms']} |")
    ratio = summary["search"]["p99_ms"] / max(summary["index top_k"]["p99_ms"], 1e-9)
    print(f"Library.search p99 / index top_k p99: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
