"""Instant ingest at archive scale: new articles into a big archive as new segments.

    python -m bench.ingest [--passages 1000000] [--adds 100] [--batch 1000] [--reload-articles 100000]

On a library of synthetic passages written from BBC News words (as `python -m bench` builds it):
- one new article at a time (--adds of them): extend_library (a new view, searchable) plus matching it
  against 10,000 keyword subscriptions (bot.core.interests.match_interests, what ingest runs), timed
  together; segments merged between additions as the runtime does in the background (timed apart);
- a batch of --batch articles the same way;
- Library.search and the passage index's top_k over 10 unmerged segments against the single-segment
  archive they extend (the same questions, one run);
- index memory with segments against the single segment;
- `/reload` (Runtime.reload, with its SQLite store) of a JSON Lines corpus of --reload-articles articles
  with 5,000 feed articles beside it, after one new file, after one changed file, and in full; and a
  restart after those changes, resuming the saved segments, against one loading the corpus snapshot
  (brought up to date) and analysing the feed articles again, in the same run. 0 skips this part.
After timing, each new article is checked to be found by its opening words.
Writes bench/results/ingest-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import latencies, machine
from bench.queries import make_questions
from bench.serving import library_from_synthetic, write_corpus
from bench.synth import RealCorpus, read_bbc, real_corpus, synthetic_articles, synthetic_passages
from bot.core import kernels
from bot.core.archive import extend_library, merge_segments, with_fetched
from bot.core.interests import Subscription, SubscriptionKind, match_interests
from bot.core.library import Library
from bot.core.models import Article
from bot.core.segments import SegmentedIndex
from bot.runtime import Runtime, load_configured_library, load_saved_view, saved_view_of
from bot.settings import Settings
from bot.store import Store
from bot.store.sources import FetchedArticle, PollStatus

RESULTS = Path(__file__).resolve().parent / "results"
SUBSCRIPTIONS = 10_000


def say(message: str) -> None:
    print(f"[ingest] {message}", file=sys.stderr, flush=True)


def new_articles(rows: list[dict[str, str]]) -> list[Article]:
    return [
        Article(
            id=row["id"],
            title=row["title"],
            body=row["body"],
            published=datetime.fromisoformat(row["published"]),
            source=row["source"],
        )
        for row in rows
    ]


def keyword_subscriptions(articles: list[Article], count: int, seed: int) -> list[Subscription]:
    """Keyword subscriptions of one to three title words of real articles (what chats ask to follow)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        words = [w.strip(".,;:'\"()").lower() for w in rng.choice(articles).title.split()]
        words = [w for w in words if len(w) > 3] or ["news"]
        value = " ".join(rng.sample(words, min(len(words), rng.randint(1, 3))))
        out.append(Subscription(i, 10_000 + i, SubscriptionKind.KEYWORDS, value, value, now))
    return out


def merge_pending(library: Library) -> tuple[Library, float]:
    """Merge what the tiered policy asks, index by index, as the runtime's background merger does."""
    started = time.perf_counter()
    merged = merge_segments(library)
    return merged, time.perf_counter() - started


FETCHED = 5_000  # articles stored from feeds beside the corpus, for the restart figures


async def store_fetched(store: Store, articles: list[Article]) -> None:
    """Articles stored as a feed poll stores them (what the runtime attaches at start-up)."""
    source, _ = await store.sources.add(
        "https://feed.example.test/rss", name="Feed", every=600, added_by=None
    )
    await store.sources.record_success(
        source.id,
        status=PollStatus.NEW,
        articles=[FetchedArticle(a, entry_key=a.id, canonical_url=None, fingerprint=a.id) for a in articles],
        next_poll_at=datetime.now(UTC),
    )


async def measure_reloads(real: RealCorpus, count: int, seed: int) -> dict[str, object]:
    """Runtime.reload over a JSON Lines corpus with FETCHED feed articles beside it: one new file, one
    changed file; a restart resuming the saved segments against one loading the corpus snapshot and
    analysing the fetched articles again (the same run); a full reload."""
    with tempfile.TemporaryDirectory(prefix="newsbot-ingest-") as scratch:
        work = Path(scratch)
        corpus = work / "corpus"
        written = write_corpus(real, corpus, count, seed)
        settings = Settings(
            corpus_dir=corpus,
            database=work / "newsbot.sqlite3",
            snapshot_dir=work / "snapshots",
            corpus_poll_seconds=0,
        )
        began = time.perf_counter()
        library = await asyncio.to_thread(load_configured_library, settings)
        first_build = time.perf_counter() - began
        store = await Store.open(settings.database)
        result: dict[str, object] = {"corpus": written, "first_build_s": round(first_build, 1)}
        try:
            fetched = [
                replace(article, id=f"fetched-{article.id}", path="https://feed.example.test/rss")
                for article in new_articles(list(synthetic_articles(real, FETCHED, seed + 50)))
            ]
            await store_fetched(store, fetched)
            runtime = Runtime(
                settings=settings, store=store, library=library, saved_view=saved_view_of(settings)
            )
            began = time.perf_counter()
            await runtime.attach_fetched()
            result["attach_fetched_s"] = round(time.perf_counter() - began, 2)
            await runtime.ingest()
            new_file: list[float] = []
            saves: list[float] = []
            for number in range(5):
                row = next(iter(synthetic_articles(real, 1, seed + 100 + number)))
                row["id"] = f"breaking-{number}"
                (corpus / f"breaking-{number}.jsonl").write_text(json.dumps(row) + "\n", "utf-8")
                began = time.perf_counter()
                outcome = await runtime.reload()
                new_file.append(time.perf_counter() - began)
                assert [a.id for a in outcome.added] == [f"breaking-{number}"], outcome
                began = time.perf_counter()
                await runtime.view_saved()  # (in the background: nobody waits for it)
                saves.append(time.perf_counter() - began)
                opening = " ".join(row["body"].split()[:40])
                hits = runtime.library.search(opening, limit=10, min_relevance=0.0).hits
                assert any(hit.article.id == f"breaking-{number}" for hit in hits)
            result["one_new_file_s"] = [round(x, 3) for x in new_file]
            result["then_saved_s"] = [round(x, 3) for x in saves]
            changed = sorted(corpus.glob("wire-*.jsonl"))[0]
            lines = changed.read_text("utf-8").splitlines()
            edited = json.loads(lines[0])
            edited["body"] += " A correction was added."
            lines[0] = json.dumps(edited)
            changed.write_text("\n".join(lines) + "\n", "utf-8")
            began = time.perf_counter()
            outcome = await runtime.reload()
            result["one_changed_file_s"] = round(time.perf_counter() - began, 3)
            await runtime.view_saved()
            result["changed_file_articles"] = len(lines)
            assert [a.id for a in outcome.changed] == [edited["id"]], outcome
            result["segments_after"] = len(runtime.library.index.segments)  # type: ignore[union-attr]
            stored, _ = await store.sources.articles()

            def restart_from_corpus() -> Library:  # before segments were saved: corpus, then fetched
                return extend_library(load_configured_library(settings), stored)

            def restart_from_segments() -> Library:
                view = load_saved_view(settings, saved_view_of(settings))
                assert view is not None
                return with_fetched(view, stored)

            for name, restart in (
                ("restart_rebuilt_s", restart_from_corpus),
                ("restart_s", restart_from_segments),
            ):
                began = time.perf_counter()
                restarted = await asyncio.to_thread(restart)
                result[name] = round(time.perf_counter() - began, 2)
                assert (
                    restarted.article("breaking-4") is not None
                    and restarted.article(fetched[-1].id) is not None
                )
                question = " ".join(fetched[-1].body.split()[:30])
                assert [h.article.id for h in restarted.search(question).hits] == [
                    h.article.id for h in runtime.library.search(question).hits
                ]
            began = time.perf_counter()
            outcome = await runtime.reload(full=True)
            result["full_reload_s"] = round(time.perf_counter() - began, 1)
            assert outcome.error is None
            await runtime.view_saved()
        finally:
            await store.close()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--adds", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--reload-articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reload-only", action="store_true", help="only the /reload part")
    args = parser.parse_args()
    kernels.compiled()
    real = real_corpus(read_bbc())
    if args.reload_only:
        say(f"/reload of a {args.reload_articles:,}-article corpus")
        print(json.dumps(asyncio.run(measure_reloads(real, args.reload_articles, args.seed)), indent=1))
        return
    say(f"building a library over {args.passages:,} synthetic passages")
    synthetic = synthetic_passages(real, args.passages, args.seed)
    base = library_from_synthetic(synthetic, args.seed)
    del synthetic
    questions = make_questions(real, 300, args.seed)
    rows = list(synthetic_articles(real, args.adds + args.batch + 1000, args.seed + 1))
    fresh = new_articles(rows)
    subscriptions = keyword_subscriptions(list(real.articles), SUBSCRIPTIONS, args.seed)
    report: dict[str, object] = {
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "passages": len(base.passages),
        "articles": base.article_count,
        "subscriptions": len(subscriptions),
    }

    say(f"{args.adds} single additions")
    view = base
    seconds: list[float] = []
    extending: list[float] = []
    merges: list[float] = []
    alerts = 0
    for article in fresh[: args.adds]:
        started = time.perf_counter()
        view = extend_library(view, [article])
        extending.append(time.perf_counter() - started)
        found = match_interests([article], [()], subscriptions, view.article_index.doc_freq)
        seconds.append(time.perf_counter() - started)
        alerts += len(found)
        opening = " ".join(article.body.split()[:40])  # (titles repeat: the synthetic ones reuse BBC's)
        hits = view.search(opening, limit=10, min_relevance=0.0).hits
        assert any(hit.article.id == article.id for hit in hits), article.id
        view, merge_seconds = merge_pending(view)
        if merge_seconds > 0.001:
            merges.append(merge_seconds)
    report["single_additions"] = {**latencies(seconds), "alerts_matched": alerts}
    report["single_additions_extend_only"] = latencies(extending)
    report["merges"] = {"count": len(merges), "max_s": round(max(merges, default=0.0), 3)}

    say(f"a batch of {args.batch}")
    batch = fresh[args.adds : args.adds + args.batch]
    started = time.perf_counter()
    batched = extend_library(view, batch)
    found = match_interests(batch, [()] * len(batch), subscriptions, batched.article_index.doc_freq)
    report["batch"] = {
        "articles": len(batch),
        "seconds": round(time.perf_counter() - started, 3),
        "alerts": len(found),
    }
    del batched

    say("queries over 10 unmerged segments against the single segment")
    segmented = base
    rest = fresh[args.adds + args.batch :]
    for part in range(10):
        segmented = extend_library(segmented, rest[part * 100 : (part + 1) * 100])
    index = segmented.index
    assert isinstance(index, SegmentedIndex) and len(index.segments) == 11
    report["segments"] = len(index.segments)
    pair = (("single", base), ("segmented", segmented))
    for _, library in pair:
        for question in questions[:30]:  # warm
            library.search(question.text)
    # Each question on one and then the other, so a busy moment of the machine falls on both alike.
    timings: dict[str, list[float]] = {name: [] for name, _ in pair}
    top: dict[str, list[float]] = {name: [] for name, _ in pair}
    for question in questions:
        for name, library in pair:
            started = time.perf_counter()
            library.search(question.text)
            timings[name].append(time.perf_counter() - started)
        for name, library in pair:
            started = time.perf_counter()
            library.index.top_k(list(question.terms), 10, tie_rank=library._passage_rank)
            top[name].append(time.perf_counter() - started)
    for name, _ in pair:
        report[f"search_{name}"] = latencies(timings[name])
        report[f"top_k_{name}"] = latencies(top[name])
    single_bytes = sum(i.nbytes for i in (base.index, base.article_index, base.title_index))
    segmented_bytes = sum(i.nbytes for i in (segmented.index, segmented.article_index, segmented.title_index))
    report["index_mb"] = {
        "single": round(single_bytes / 2**20, 1),
        "segmented": round(segmented_bytes / 2**20, 1),
    }

    if args.reload_articles:
        del base, segmented, view
        say(f"/reload of a {args.reload_articles:,}-article corpus")
        report["reload"] = asyncio.run(measure_reloads(real, args.reload_articles, args.seed))

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=1), "utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
