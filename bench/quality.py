"""Retrieval quality on BEIR SciFact: nDCG@10 and Recall@100 of our BM25 with our analyzer and with baselines.

Run: python -m bench.quality [--data DIR] [--json]. The data set is research data kept outside the repo
(../shared/data/beir_scifact by default); nothing from it is copied into the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import Stemmer
from rank_bm25 import BM25Okapi

from bot.core.index import BM25Index
from bot.core.text import ANALYZER_VERSION, STOP_WORDS, plain_terms, terms

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir_scifact"
Tokenizer = Callable[[str], list[str]]


def _snowball_terms() -> Tokenizer:
    """Baseline in the bm25s manner: plain tokens, our stop words, Snowball stems, no irregular table."""
    stemmer = Stemmer.Stemmer("english")

    def tokenize(text: str) -> list[str]:
        stems: list[str] = stemmer.stemWords([t for t in plain_terms(text) if t not in STOP_WORDS])
        return stems

    return tokenize


def _whitespace_terms(text: str) -> list[str]:
    return text.lower().split()


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_scifact(data_dir: Path) -> tuple[list[str], list[str], dict[str, str], dict[str, dict[str, int]]]:
    """(doc ids, doc texts as title + " " + text, test query texts by id, qrels by query id)."""
    corpus = _read_jsonl(data_dir / "corpus.jsonl.gz")
    doc_ids = [str(row["_id"]) for row in corpus]
    texts = [f"{row.get('title') or ''} {row.get('text') or ''}".strip() for row in corpus]
    qrels: dict[str, dict[str, int]] = {}
    lines = (data_dir / "qrels" / "test.tsv").read_text("utf-8").splitlines()
    for line in lines[1:]:
        if line.strip():
            query_id, doc_id, score = line.split("\t")
            qrels.setdefault(query_id, {})[doc_id] = int(score)
    queries = {str(row["_id"]): str(row["text"]) for row in _read_jsonl(data_dir / "queries.jsonl.gz")}
    return doc_ids, texts, {q: queries[q] for q in qrels}, qrels


def ndcg_at(ranked: Sequence[str], judged: dict[str, int], k: int) -> float:
    """nDCG@k with linear gains (as trec_eval/pytrec_eval compute it for BEIR)."""
    dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(i + 2) for i, gain in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], judged: dict[str, int], k: int) -> float:
    """Share of the relevant docs found in the first k."""
    relevant = {doc for doc, gain in judged.items() if gain > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def _score(runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    ndcg = [ndcg_at(runs[q], qrels[q], 10) for q in qrels]
    recall = [recall_at(runs[q], qrels[q], 100) for q in qrels]
    return {"ndcg@10": round(float(np.mean(ndcg)), 4), "recall@100": round(float(np.mean(recall)), 4)}


def _run_index(
    tokenize: Tokenizer, doc_ids: list[str], texts: list[str], queries: dict[str, str]
) -> dict[str, object]:
    began = time.perf_counter()
    tokens = [tokenize(text) for text in texts]
    analysed = time.perf_counter()
    index = BM25Index.build(tokens)
    built = time.perf_counter()
    runs = {q: [doc_ids[d] for d, _ in index.top_k(tokenize(text), 100)] for q, text in queries.items()}
    answered = time.perf_counter()
    return {
        "runs": runs,
        "tokens": sum(map(len, tokens)),
        "vocabulary": index.vocabulary_size,
        "analyse_s": round(analysed - began, 3),
        "build_s": round(built - analysed, 3),
        "query_ms": round((answered - built) / max(len(queries), 1) * 1000, 3),
    }


def _run_rank_bm25(doc_ids: list[str], texts: list[str], queries: dict[str, str]) -> dict[str, object]:
    began = time.perf_counter()
    tokens = [_whitespace_terms(text) for text in texts]
    model = BM25Okapi(tokens)
    built = time.perf_counter()
    order = np.arange(len(doc_ids))
    runs = {}
    for q, text in queries.items():
        scores = model.get_scores(_whitespace_terms(text))
        best = np.lexsort((order, -scores))[:100]
        runs[q] = [doc_ids[d] for d in best.tolist()]
    answered = time.perf_counter()
    return {
        "runs": runs,
        "tokens": sum(map(len, tokens)),
        "vocabulary": len(model.idf),
        "build_s": round(built - began, 3),
        "query_ms": round((answered - built) / max(len(queries), 1) * 1000, 3),
    }


def evaluate_scifact(data_dir: Path, *, reference: bool = True) -> dict[str, object]:
    """nDCG@10 / Recall@100 on SciFact test for each tokenizer, as a JSON-able dict."""
    doc_ids, texts, queries, qrels = load_scifact(data_dir)
    variants: dict[str, Tokenizer] = {
        "analyzer": terms,
        "plain": plain_terms,
        "plain+stop+snowball": _snowball_terms(),
    }
    results: dict[str, dict[str, object]] = {}
    for name, tokenize in variants.items():
        run = _run_index(tokenize, doc_ids, texts, queries)
        runs = run.pop("runs")
        assert isinstance(runs, dict)
        results[name] = {**_score(runs, qrels), **run}
    if reference:
        run = _run_rank_bm25(doc_ids, texts, queries)
        runs = run.pop("runs")
        assert isinstance(runs, dict)
        results["rank_bm25 whitespace"] = {**_score(runs, qrels), **run}
    return {
        "dataset": "BEIR SciFact (test)",
        "documents": len(doc_ids),
        "queries": len(queries),
        "analyzer_version": ANALYZER_VERSION,
        "bm25": {"k1": 1.5, "b": 0.75, "epsilon": 0.25},
        "results": results,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the quality table (or JSON) for the SciFact data directory."""
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BEIR SciFact directory")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-reference", action="store_true", help="skip the (slow) rank-bm25 run")
    args = parser.parse_args(argv)
    if not (args.data / "corpus.jsonl.gz").is_file():
        print(f"no SciFact data in {args.data}", file=sys.stderr)
        return 2
    report = evaluate_scifact(args.data, reference=not args.no_reference)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{report['dataset']}: {report['documents']} docs, {report['queries']} queries,"
        " BM25Okapi k1=1.5 b=0.75"
    )
    print(f"{'tokenizer':<24}{'nDCG@10':>9}{'R@100':>8}{'tokens':>10}{'vocab':>8}{'ms/query':>10}")
    results = report["results"]
    assert isinstance(results, dict)
    for name, row in results.items():
        print(
            f"{name:<24}{row['ndcg@10']:>9.4f}{row['recall@100']:>8.4f}{row['tokens']:>10}"
            f"{row['vocabulary']:>8}{row['query_ms']:>10.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
