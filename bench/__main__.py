"""python -m bench [--quick|--full] [--json PATH] [--e2e]: speed, memory and exactness against rank-bm25.

On BBC News (../shared/data) and seeded synthetic scale-ups of it, side by side on the same tokenised
passages and questions: our index, rank_bm25.BM25Okapi (skipped at 1M unless --full), and bm25s and
tantivy when installed (the bench extra), and ours and tantivy once more, asked each question in turn.
Then Library.search, snapshots, corpus loading, answers during
a reload, and retrieval quality on SciFact. Prints tables on stdout, progress on stderr, and writes one
JSON object (bench/results/).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import Result, in_child, machine
from bench.quality import DEFAULT_DATA as SCIFACT
from bench.quality import evaluate_scifact
from bench.queries import make_questions
from bench.serving import (
    library_from_synthetic,
    measure_corpus_load,
    measure_reload,
    measure_search,
    measure_snapshot,
    write_corpus,
)
from bench.startup import measure_startup
from bench.synth import BBC, read_bbc, real_corpus, synthetic_passages
from bench.systems import (
    bm25s_available,
    run_bm25s,
    run_in_turn,
    run_newsbot,
    run_rank_bm25,
    run_tantivy,
    tantivy_available,
)
from bot.core.library import build_library
from bot.core.models import Corpus
from bot.core.topics import load_topics

RESULTS = Path(__file__).resolve().parent / "results"
# Published SciFact anchors (nDCG@10, Recall@100), as listed with the data set in ../shared/data.
ANCHORS = {
    "Anserini BM25 flat": (0.6789, 0.9253),
    "Anserini BM25 multifield (BEIR paper)": (0.6647, 0.9076),
    "bm25-benchmarks: rank-bm25": (0.685, None),
    "bm25-benchmarks: bm25s": (0.687, None),
    "bm25-benchmarks: Elasticsearch": (0.690, None),
}


@dataclass
class Plan:
    """What one run measures; Plan.of(mode) gives the three documented modes."""

    mode: str
    scales: list[int]  # passages per scale; 0 stands for the real BBC News passages
    questions: int
    reference_questions: dict[int, int]  # per scale: how many questions rank-bm25 answers (it is slow)
    reference_scales: set[int]  # where rank-bm25 runs at all
    articles: int  # the JSON Lines corpus for loading and reloading
    quality_reference: bool  # run rank-bm25 on SciFact too
    startup: bool = False  # fresh interpreters: what the compiled path adds to a start (bench/startup.py)
    # bm25s's backend; None: numba when installed (its fastest). The tests choose "numpy": numba compiles
    # bm25s's functions anew in every child (it keeps no cache of them), 10 s or more each.
    bm25s_backend: str | None = None
    reload_window_s: float = 1.0  # answering before and after the reload, for comparison

    @classmethod
    def of(cls, mode: str) -> Plan:
        """quick: BBC and 100k passages; default: up to 1M; full: rank-bm25 at 1M as well."""
        quick = mode == "quick"
        return cls(
            mode=mode,
            scales=[0, 100_000] if quick else [0, 100_000, 1_000_000],
            questions=200 if quick else 300,
            # rank-bm25 takes ~0.1 s (100k) to ~1 s (1M) per question: it answers a subset there.
            reference_questions={0: 300, 100_000: 60 if quick else 150, 1_000_000: 40},
            reference_scales={0, 100_000} | ({1_000_000} if mode == "full" else set()),
            articles=10_000 if quick else 100_000,
            quality_reference=not quick,
            startup=True,
        )


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the tables."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(
    plan: Plan, seed: int, e2e: bool = False, *, bbc: Path = BBC, scifact: Path = SCIFACT
) -> dict[str, Any]:
    """Everything the plan measures, as the JSON object of the contract."""
    if not bbc.is_file():
        raise SystemExit(f"bench: BBC News data not found at {bbc}")
    report: dict[str, Any] = {
        "machine": machine(),
        "mode": plan.mode,
        "seed": seed,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    say("analysing BBC News")
    real = real_corpus(read_bbc(bbc))
    questions = make_questions(real, plan.questions, seed)
    report["questions"] = {
        "count": len(questions),
        "from_passages": sum(q.kind == "passage" for q in questions),
        "from_titles": sum(q.kind == "title" for q in questions),
        "mean_terms": round(sum(len(q.terms) for q in questions) / len(questions), 2),
        "examples": [q.text for q in questions[:5]],
    }
    report["scales"] = []
    largest_library = None
    for scale in plan.scales:
        if scale:
            say(f"generating {scale:,} synthetic passages")
            synthetic = synthetic_passages(real, scale, seed)
            passages = synthetic.passages
        else:
            synthetic, passages = None, real.passages
        report["scales"].append(measure_scale(plan, scale, passages, questions))
        if synthetic is not None and scale == plan.scales[-1]:
            say(f"building a Library over {scale:,} passages for Library.search and snapshots")
            largest_library = library_from_synthetic(synthetic, seed)
        del synthetic, passages
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as scratch:
        work = Path(scratch)
        if largest_library is not None:
            say("Library.search")
            report["library_search"] = measure_search(largest_library, questions)
            say("snapshot save and load")
            report["snapshot"] = measure_snapshot(largest_library, work / "snapshots", questions)
            del largest_library
        if plan.startup:
            say("start-up of the compiled path (fresh interpreters, numba cache warm and cold)")
            saved = work / "snapshots" / "bench"
            texts = [q.text for q in questions[:2]]
            report["startup"] = measure_startup(saved if saved.is_dir() else None, texts)
        corpus_dir = work / "corpus"
        say(f"writing {plan.articles:,} synthetic articles as JSON Lines")
        written = write_corpus(real, corpus_dir, plan.articles, seed)
        say("loading them")
        report["corpus_load"] = {**written, **measure_corpus_load(corpus_dir)}
        say(f"answering questions while /reload indexes {plan.articles:,} articles")
        topics, _ = load_topics(corpus_dir / "topics.yaml")
        serving = build_library(Corpus(real.articles, ()), topics)
        report["reload"] = measure_reload(
            corpus_dir, work / "reload", serving, questions, window_s=plan.reload_window_s
        )
    if scifact.joinpath("corpus.jsonl.gz").is_file():
        say("SciFact retrieval quality")
        report["quality"] = {
            **evaluate_scifact(scifact, reference=plan.quality_reference),
            "anchors": {name: {"ndcg@10": n, "recall@100": r} for name, (n, r) in ANCHORS.items()},
        }
    else:
        report["quality"] = {"skipped": f"no SciFact data in {scifact}"}
    if e2e:
        report["e2e"] = run_e2e(plan.mode == "quick")
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def measure_scale(
    plan: Plan, scale: int, passages: Sequence[Sequence[str]], questions: Sequence[Any]
) -> Result:
    """All systems on one set of passages."""
    label = "BBC News" if scale == 0 else f"{scale:,} synthetic"
    say(f"{label}: our index")
    ours = in_child(lambda: run_newsbot(passages, questions))
    tops = ours.pop("top", [])
    systems: dict[str, Result] = {"newsbot": ours}
    if scale in plan.reference_scales:
        count = plan.reference_questions.get(scale, 40)
        say(f"{label}: rank_bm25 ({count} questions)")
        reference = in_child(lambda: run_rank_bm25(passages, questions[:count], tops[:count]))
        compared = reference.pop("compared", None)
        systems["rank_bm25"] = reference
        if compared:
            ours["max_rel_diff_vs_rank_bm25"] = compared["max_rel_diff"]
            ours["top10_agreement"] = round(compared["agree"] / max(compared["queries"], 1), 4)
            ours["compared_queries"] = compared["queries"]
            if ours.get("p50_ms") and reference.get("p50_ms"):
                ours["p50_speedup_vs_rank_bm25"] = round(reference["p50_ms"] / ours["p50_ms"], 1)
    else:
        systems["rank_bm25"] = {"skipped": "too slow at this scale (run with --full)"}
    if bm25s_available():
        say(f"{label}: bm25s")
        systems["bm25s"] = in_child(lambda: run_bm25s(passages, questions, plan.bm25s_backend))
    else:
        systems["bm25s"] = {"skipped": "not installed (optional: pip install bm25s)"}
    if tantivy_available():
        say(f"{label}: tantivy")
        systems["tantivy"] = in_child(lambda: run_tantivy(passages, questions))
        say(f"{label}: ours and tantivy, each question in turn")
        in_turn = in_child(lambda: run_in_turn(passages, questions))
    else:
        systems["tantivy"] = {"skipped": "not installed (optional: pip install tantivy)"}
        in_turn = {"skipped": "tantivy is not installed"}
    return {"passages": len(passages), "label": label, "systems": systems, "in_turn": in_turn}


def run_e2e(quick: bool) -> dict[str, Any]:
    """The end-to-end benchmark (bench/e2e.py), when that module is there."""
    if importlib.util.find_spec("bench.e2e") is None:
        return {"skipped": "bench/e2e.py is not there"}
    from bench import e2e

    say("end-to-end benchmark")
    result: dict[str, Any] = e2e.run_e2e(quick)
    return result


# --------------------------------------------------------------------------- printing


def _cell(value: object, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if abs(value) >= 0.01 or value == 0 else f"{value:.1e}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_report(report: dict[str, Any], command: str) -> None:
    """The tables, on stdout."""
    print(f"$ {command}")
    print(report["machine"])
    print()
    header = (
        "passages",
        "system",
        "build s",
        "peak RSS MB",
        "index MB",
        "p50 ms",
        "p99 ms",
        "mean ms",
        "QPS",
    )
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    for scale in report["scales"]:
        for name, entry in scale["systems"].items():
            if "skipped" in entry or "error" in entry:
                notes.append(f"{scale['label']} / {name}: {entry.get('skipped') or entry.get('error')}")
                continue
            rows.append(
                (
                    f"{scale['passages']:,}",
                    name,
                    _cell(entry["build_s"]),
                    _cell(entry["peak_rss_mb"], 0),
                    _cell(entry["index_mb"], 0),
                    _cell(entry["p50_ms"], 3),
                    _cell(entry["p99_ms"], 3),
                    _cell(entry["mean_ms"], 3),
                    _cell(entry["qps"], 0),
                )
            )
            if name == "newsbot" and "top10_agreement" in entry:
                notes.append(
                    f"{scale['label']}: top-10 identical to rank-bm25 for "
                    f"{entry['top10_agreement']:.0%} of {entry['compared_queries']} questions, max relative "
                    f"score difference {entry['max_rel_diff_vs_rank_bm25']:.1e}, p50 "
                    f"{entry.get('p50_speedup_vs_rank_bm25', '–')}x faster"
                )
    for scale in report["scales"]:
        turn = scale.get("in_turn", {})
        if "newsbot" in turn and "tantivy" in turn:
            ours, theirs = turn["newsbot"], turn["tantivy"]
            notes.append(
                f"{scale['label']}: ours and tantivy asked each question in turn ({turn['rounds']} rounds "
                f"of {turn['questions']}): p50 {_cell(ours['p50_ms'], 3)} against "
                f"{_cell(theirs['p50_ms'], 3)} ms ({turn['p50_ratio']}x), p99 {_cell(ours['p99_ms'], 3)} "
                f"against {_cell(theirs['p99_ms'], 3)} ms ({turn['p99_ratio']}x)"
            )
        elif "error" in turn:
            notes.append(f"{scale['label']} / in turn: {turn['error']}")
    _table(header, rows)
    for note in notes:
        print(f"  {note}")
    print()
    extra: list[tuple[str, str]] = []
    if "library_search" in report:
        s = report["library_search"]
        extra.append(
            (
                f"Library.search, {s['passages']:,} passages",
                f"p50 {_cell(s['p50_ms'], 3)} ms, p99 {_cell(s['p99_ms'], 3)} ms "
                "(analysis, top articles, count and snippets)",
            )
        )
        index = s.get("index_top_k")
        if index:
            extra.append(
                (
                    "its index's top_k in the same passes",
                    f"p50 {_cell(index['p50_ms'], 3)} ms, p99 {_cell(index['p99_ms'], 3)} ms; "
                    f"Library.search p99 / top_k p99: {s['p99_over_index_p99']} ({s['passes']} passes of "
                    f"{index['queries'] // max(s['passes'], 1)} questions, each asked of both in turn)",
                )
            )
    if "snapshot" in report:
        s = report["snapshot"]
        extra.append(
            (
                f"snapshot, {s['passages']:,} passages",
                f"save {_cell(s['save_s'])} s, {_cell(s['disk_mb'], 0)} MB on disk, load "
                f"{_cell(s.get('load_s'), 3)} s, same answers: {s.get('same_answers')}",
            )
        )
    if "startup" in report:
        s = report["startup"]
        warm, cold = s.get("warm", {}), s.get("cold", {})
        extra.append(
            (
                "compiled path, fresh start",
                f"ready in {_cell(warm.get('ready_s'), 3)} s with numba's cache warm, "
                f"{_cell(cold.get('ready_s'), 3)} s cold (compiling)",
            )
        )
        for key, label in (("first_answer_warm", "warm"), ("first_answer_cold", "cold")):
            first = s.get(key)
            if first and "error" not in first:
                path = "compiled" if first["first_compiled"] else "numpy, kernels still loading"
                extra.append(
                    (
                        f"first answer after a snapshot load ({label} cache)",
                        f"load {_cell(first['load_s'], 3)} s, first answer "
                        f"{_cell(first['first_search_ms'])} ms ({path}), kernels ready "
                        f"{_cell(first['kernels_ready_s'], 3)} s after the start, "
                        f"next answer {_cell(first['second_search_ms'])} ms",
                    )
                )
    load = report["corpus_load"]
    extra.append(
        (
            f"load {load['articles']:,} JSON Lines articles",
            f"{_cell(load['load_s'])} s ({_cell(load['articles_per_s'], 0)} articles/s, {load['mb']} MB)",
        )
    )
    reload = report["reload"]
    during = reload["answers_during"]
    extra.append(
        (
            f"answers during /reload of {reload['articles']:,} articles",
            f"p50 {_cell(during['p50_ms'])} ms, p99 {_cell(during['p99_ms'])} ms, "
            f"max {_cell(during['max_ms'])} ms over {during['queries']} answers; "
            f"reload {reload['reload_s']} s in a {reload['builder']}; "
            f"restart from snapshot {reload['restart_from_snapshot_s']} s",
        )
    )
    _table(("library", "figures"), extra)
    quality = report.get("quality", {})
    if "results" in quality:
        print()
        rows = [
            (name, _cell(r["ndcg@10"], 4), _cell(r["recall@100"], 4))
            for name, r in quality["results"].items()
        ]
        rows += [
            (f"published: {n}", _cell(a["ndcg@10"], 4), _cell(a["recall@100"], 4))
            for n, a in quality["anchors"].items()
        ]
        _table(("SciFact (test)", "nDCG@10", "Recall@100"), rows)
    elif quality:
        print(f"\nquality: {quality.get('skipped')}")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="BBC News and 100k passages only (under a minute)")
    size.add_argument("--full", action="store_true", help="also run rank-bm25 at 1M passages (slow)")
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="where to write the JSON (default bench/results/)"
    )
    parser.add_argument("--e2e", action="store_true", help="also run the end-to-end benchmark (bench/e2e.py)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic data and questions")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full" if args.full else "default"
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    began = time.perf_counter()
    report = run(Plan.of(mode), args.seed, args.e2e)
    report["command"] = command
    report["seconds"] = round(time.perf_counter() - began, 1)
    path = args.json or RESULTS / f"{mode}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    print_report(report, command)
    print(f"\nJSON: {path} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
