"""python -m bench.stories [--quick | --no-cost] [--json PATH]: does story grouping keep one event together
and different events apart, and what does it cost per article at 100,000 articles?

Quality: all 2,225 BBC News articles (../shared/data; undated, so the time window never helps) are added in
a seeded order, then four seeded rewrites of every distinct article (bench/rewrite.py). Labelled pairs
(bench/stories/pairs.jsonl: ids only) say which BBC articles are the same event (exact copies, near-copies,
BBC's own reports of one event) and which are different events of one subject (hard negatives). A pair is
"grouped" when both end in the same story, however they got there. Reported per kind and per split (dev:
tuned on; test: held out). Cost: synthetic articles written from BBC words (bench.synth), dated over two
years, added one at a time to a growing index up to 100,000; p50/p99 per article and the memory the index
holds. Also: our MinHash beside datasketch's (when installed), same shingles, same number of permutations.

`--candidates N` instead lists the N distinct BBC pairs, not yet labelled, that the rewrite score ranks
highest (ids and scores only): the pairs to read and label next, taken from the top as they come.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import latencies, machine
from bench.rewrite import MODES, rewrite
from bench.synth import BBC, read_bbc, real_corpus, synthetic_articles
from bot.core.models import Article
from bot.core.stories import (
    LEAD_PROFILE_TERMS,
    LEAD_SHARE,
    LEAD_WORDS,
    PERMUTATIONS,
    PROFILE_TERMS,
    SHINGLE_TERMS,
    StoryIndex,
    _weights,
    signature,
)
from bot.core.text import terms

PAIRS = Path(__file__).resolve().parent / "stories" / "pairs.jsonl"
RESULTS = Path(__file__).resolve().parent / "results"
ORDER_SEED = 16
Result = dict[str, Any]


def read_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    """The labelled pairs: {a, b, same, kind, split} per line."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def split_of(article_id: str, labelled: dict[str, str]) -> str:
    """An article's split: its labelled pairs' split, else a third of ids by hash go to test."""
    if article_id in labelled:
        return labelled[article_id]
    return "test" if int(hashlib.sha256(article_id.encode()).hexdigest(), 16) % 3 == 0 else "dev"


def distinct(articles: Sequence[Article]) -> list[Article]:
    """The articles whose body no earlier article (by id) has: the exact duplicates are labelled copies."""
    seen: set[str] = set()
    kept = []
    for article in sorted(articles, key=lambda a: a.id):
        if article.body not in seen:
            seen.add(article.body)
            kept.append(article)
    return kept


def quality(articles: Sequence[Article], pairs: list[dict[str, Any]], *, rewrites: bool = True) -> Result:
    """Grouping of labelled pairs and (unless told not to) of rewrites, per kind and split, plus what the
    archive became."""
    order = list(articles)
    random.Random(ORDER_SEED).shuffle(order)
    index = StoryIndex()
    started = time.perf_counter()
    assignments = index.add_all(order)
    bbc_seconds = time.perf_counter() - started
    labelled = {}
    for pair in pairs:
        labelled[pair["a"]] = labelled[pair["b"]] = pair["split"]
    rows: Counter[tuple[str, str, str]] = Counter()  # (split, kind, outcome)
    for pair in pairs:
        together = index.story_of(pair["a"]) == index.story_of(pair["b"])
        rows[(pair["split"], pair["kind"], "grouped" if together else "apart")] += 1
    for article in distinct(articles) if rewrites else ():
        for mode in MODES:
            assignment = index.add(rewrite(article, mode))
            if assignment.story_id == index.story_of(article.id):
                outcome = "grouped"
            else:
                outcome = "apart" if assignment.is_new else "wrong story"
            rows[(split_of(article.id, labelled), f"rewrite: {mode}", outcome)] += 1
    sizes = Counter(len(story.members) for story in index.stories() if not story.id.startswith("rewrite/"))
    bbc_stories = [s for s in index.stories() if not s.id.startswith("rewrite/")]
    return {
        "rows": [[split, kind, outcome, count] for (split, kind, outcome), count in sorted(rows.items())],
        "bbc_articles": len(order),
        "bbc_reasons": dict(Counter(a.reason.value for a in assignments)),
        "bbc_stories": len({a.story_id for a in assignments}),
        "largest_story": max(len(s.members) for s in bbc_stories),
        "story_sizes": {str(k): v for k, v in sorted(sizes.items())},
        "bbc_ms_per_article": round(1000 * bbc_seconds / len(order), 3),
    }


def summarise(rows: list[list[Any]]) -> list[Result]:
    """Per split: recall per positive kind, false merges of hard negatives, and pair precision."""
    table: list[Result] = []
    for split in ("dev", "test"):
        counts: dict[str, Counter[str]] = {}
        for row_split, kind, outcome, count in rows:
            if row_split == split:
                counts.setdefault(kind, Counter())[outcome] += count
        for kind, outcome in sorted(counts.items()):
            total = sum(outcome.values())
            table.append(
                {
                    "split": split,
                    "kind": kind,
                    "pairs": total,
                    **outcome,
                    "share_grouped": round(outcome["grouped"] / total, 4),
                }
            )
        positives = [k for k in counts if k != "different-event"]
        true_pos = sum(counts[k]["grouped"] for k in positives)
        false_pos = counts.get("different-event", Counter())["grouped"] + sum(
            counts[k]["wrong story"] for k in positives
        )
        labelled_tp = sum(counts[k]["grouped"] for k in positives if not k.startswith("rewrite"))
        labelled_fp = counts.get("different-event", Counter())["grouped"]
        table.append(
            {
                "split": split,
                "kind": "precision (labelled pairs)",
                "value": round(labelled_tp / max(1, labelled_tp + labelled_fp), 4),
            }
        )
        table.append(
            {
                "split": split,
                "kind": "precision (labelled pairs + rewrites)",
                "value": round(true_pos / max(1, true_pos + false_pos), 4),
            }
        )
        copies_rewrites = [k for k in positives if k in ("copy", "near-copy") or k.startswith("rewrite")]
        grouped = sum(counts[k]["grouped"] for k in copies_rewrites)
        total = sum(sum(counts[k].values()) for k in copies_rewrites)
        table.append(
            {"split": split, "kind": "recall (copies + rewrites)", "value": round(grouped / total, 4)}
        )
    return table


def candidates(articles: Sequence[Article], pairs: list[dict[str, Any]], count: int) -> list[Result]:
    """The `count` pairs of distinct articles with the highest rewrite score that no labelled pair covers
    (a pair of exact duplicates' stands for all of them). Scored as StoryIndex scores a rewrite, with the
    whole archive's document frequencies (an index's depend on what it holds when the article arrives)."""
    kept = distinct(articles)
    first: dict[str, str] = {}
    representative = {a.id: first.setdefault(a.body, a.id) for a in sorted(articles, key=lambda a: a.id)}
    labelled = {frozenset((representative[p["a"]], representative[p["b"]])) for p in pairs}
    analysed = [(terms(a.title), terms(a.body)) for a in kept]
    df: Counter[str] = Counter()
    for title, body in analysed:
        df.update(set(title + body))
    whole = _dense([_weights(Counter(t + t + b), df, len(kept), PROFILE_TERMS) for t, b in analysed])
    lead = _dense(
        [_weights(Counter(t + t + b[:LEAD_WORDS]), df, len(kept), LEAD_PROFILE_TERMS) for t, b in analysed]
    )
    whole_cosine, lead_cosine = whole @ whole.T, lead @ lead.T
    score = LEAD_SHARE * lead_cosine + (1 - LEAD_SHARE) * whole_cosine
    rows, columns = np.triu_indices(len(kept), 1)
    found: list[Result] = []
    for k in np.argsort(-score[rows, columns], kind="stable").tolist():
        i, j = int(rows[k]), int(columns[k])
        if frozenset((kept[i].id, kept[j].id)) in labelled:
            continue
        found.append(
            {
                "a": kept[i].id,
                "b": kept[j].id,
                "score": round(float(score[i, j]), 4),
                "lead": round(float(lead_cosine[i, j]), 4),
                "whole": round(float(whole_cosine[i, j]), 4),
            }
        )
        if len(found) == count:
            break
    return found


def _dense(weights: Sequence[dict[str, float]]) -> np.ndarray[Any, np.dtype[np.float32]]:
    vocabulary: dict[str, int] = {}
    for row in weights:
        for term in row:
            vocabulary.setdefault(term, len(vocabulary))
    matrix = np.zeros((len(weights), len(vocabulary)), dtype=np.float32)
    for i, row in enumerate(weights):
        for term, weight in row.items():
            matrix[i, vocabulary[term]] = weight
    return matrix


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cost(count: int, seed: int = 7, days: float | None = None) -> Result:
    """Adding `count` dated synthetic articles one at a time: per-article latency, index memory and how
    many articles are live (candidates) at the checkpoints. Dated at random over two years (the order
    of a bulk import), or with `days` in publication order over that many days (a live feed's)."""
    real = real_corpus(read_bbc())
    marks = {count // 10, count // 2, count}
    seconds: list[float] = []
    index = StoryIndex()
    gc.collect()
    baseline = _rss()
    checkpoints: list[Result] = []
    reasons: Counter[str] = Counter()
    for row in synthetic_articles(real, count, seed, days=days):
        article = Article(
            id=row["id"],
            title=row["title"],
            body=row["body"],
            source=row["source"],
            published=datetime.fromisoformat(row["published"]).astimezone(UTC),
        )
        started = time.perf_counter()
        assignment = index.add(article)
        seconds.append(time.perf_counter() - started)
        reasons[assignment.reason.value] += 1
        if len(seconds) in marks:
            window = seconds[-min(len(seconds), 5000) :]
            gc.collect()
            checkpoints.append(
                {
                    "articles": len(seconds),
                    "last_5000": latencies(window),
                    "index_mb": round((_rss() - baseline) / 2**20, 1),
                    "live": index.live_count,
                }
            )
            print(f"  {len(seconds):,} articles: {checkpoints[-1]}", file=sys.stderr)
    return {
        "articles": count,
        "days": days,
        "all": latencies(seconds),
        "checkpoints": checkpoints,
        "reasons": dict(reasons),
        "stories": index.story_count,
    }


def minhash_side_by_side(articles: Sequence[Article]) -> Result:
    """Our numpy MinHash and datasketch's on the same shingles: time per article and agreement."""
    words = [terms(a.title) + terms(a.body) for a in articles]
    started = time.perf_counter()
    ours = [signature(w) for w in words]
    ours_ms = 1000 * (time.perf_counter() - started) / len(words)
    result: Result = {"ours_ms_per_article": round(ours_ms, 4), "permutations": PERMUTATIONS}
    try:
        from datasketch import MinHash
    except ImportError:
        result["datasketch"] = "not installed"
        return result
    shingles = [
        {" ".join(w[i : i + SHINGLE_TERMS]).encode() for i in range(max(1, len(w) - SHINGLE_TERMS + 1))}
        for w in words
    ]
    started = time.perf_counter()
    theirs = []
    for group in shingles:
        minhash = MinHash(num_perm=PERMUTATIONS, seed=1)
        minhash.update_batch(list(group))
        theirs.append(minhash)
    theirs_ms = 1000 * (time.perf_counter() - started) / len(words)
    rng = random.Random(3)
    errors_ours, errors_theirs = [], []
    for _ in range(2000):
        i, j = rng.randrange(len(words)), rng.randrange(len(words))
        exact = len(shingles[i] & shingles[j]) / max(1, len(shingles[i] | shingles[j]))
        errors_ours.append(abs(float((ours[i] == ours[j]).mean()) - exact))
        errors_theirs.append(abs(theirs[i].jaccard(theirs[j]) - exact))
    result.update(
        {
            "datasketch_ms_per_article": round(theirs_ms, 4),
            "ours_mean_abs_error": round(float(np.mean(errors_ours)), 4),
            "datasketch_mean_abs_error": round(float(np.mean(errors_theirs)), 4),
        }
    )
    return result


def print_report(report: Result) -> None:
    """The tables for the README."""
    print(f"machine: {report['machine']}")
    print("\n| split | kind | pairs | grouped | apart | wrong story | share grouped |")
    print("|---|---|---|---|---|---|---|")
    for row in report["summary"]:
        if "pairs" in row:
            print(
                f"| {row['split']} | {row['kind']} | {row['pairs']} | {row.get('grouped', 0)} | "
                f"{row.get('apart', 0)} | {row.get('wrong story', 0)} | {row['share_grouped']:.1%} |"
            )
    for row in report["summary"]:
        if "value" in row:
            print(f"{row['split']}: {row['kind']} = {row['value']:.3f}")
    quality_ = report["quality"]
    print(
        f"\nBBC archive: {quality_['bbc_articles']} articles → {quality_['bbc_stories']} stories, "
        f"largest {quality_['largest_story']}, reasons {quality_['bbc_reasons']}, "
        f"{quality_['bbc_ms_per_article']} ms per article"
    )
    for label, cost_ in report.get("costs", {}).items():
        print(f"\ncost over {cost_['articles']:,} articles, {label}: {cost_['all']}")
        for point in cost_["checkpoints"]:
            print(
                f"  at {point['articles']:,}: {point['last_5000']}  index {point['index_mb']} MB, "
                f"{point['live']:,} live"
            )
        print(f"  reasons {cost_['reasons']}, stories {cost_['stories']:,}")
    print(f"\nMinHash: {report['minhash']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stories", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="10,000 articles for the cost instead of 100,000"
    )
    parser.add_argument("--articles", type=int, default=None, help="articles for the cost run")
    parser.add_argument("--no-cost", action="store_true", help="quality only: skip the cost runs")
    parser.add_argument(
        "--candidates", type=int, default=None, help="list this many unlabelled pairs to label next, and stop"
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the report")
    args = parser.parse_args(argv)
    if not BBC.is_file():
        print(f"BBC News data not found at {BBC}", file=sys.stderr)
        return 2
    articles = read_bbc()
    if args.candidates is not None:
        for row in candidates(articles, read_pairs(), args.candidates):
            print(json.dumps(row))
        return 0
    report: Result = {"machine": machine(), "when": datetime.now(UTC).isoformat(timespec="seconds")}
    print("quality…", file=sys.stderr)
    report["quality"] = quality(articles, read_pairs())
    report["summary"] = summarise(report["quality"]["rows"])
    print("minhash side by side…", file=sys.stderr)
    report["minhash"] = minhash_side_by_side(distinct(articles))
    count = args.articles or (10_000 if args.quick else 100_000)
    # Three orders of arrival: a bulk import (random dates over two years), a live feed over the same two
    # years (about 140 articles a day), and a busy live feed (the same number of articles in 30 days).
    orders = (
        ("random order over two years", None),
        ("in order over two years", 730.0),
        ("in order over 30 days", 30.0),
    )
    report["costs"] = {}
    for label, days in () if args.no_cost else orders:
        print(f"cost at {count:,} articles, {label}…", file=sys.stderr)
        report["costs"][label] = cost(count, days=days)
    print_report(report)
    path = args.json or RESULTS / f"stories-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1), "utf-8")
    print(f"\nwrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
