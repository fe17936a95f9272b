"""What questions cost on disk (issue #11): database + write-ahead log bytes per question after N questions.

Drives the real Store (SQLite on a temporary path) on a simulated clock: each question touches its chat
(at most once a minute, as the bot does), is logged (without its text, the default) and, for a third of
them (answers with more results), saved for "More results". Housekeeping runs every simulated hour with
the default retention. Compared with what the bot did before (no housekeeping: saved questions for 24 h
and never deleted, no checkpoints, the write-ahead log left at its largest). Two paces: a busy day (every
question within 24 h) and a quiet season (the same questions spread over 100 days, where retention has
something to do).
Run: python -m bench.storage [--questions N] [--json PATH].
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.store import Store
from bot.store.facade import JOURNAL_SIZE_LIMIT

RESULTS = Path(__file__).resolve().parent / "results"
CHATS = 2_000
MORE_RESULTS_SHARE = 1 / 3
START = datetime(2026, 1, 1, tzinfo=UTC)
QUESTIONS = (
    "How much money was Sora losing every day?",
    "what did the MIIT say about AI standards",
    "Codex sites feature launch date",
    "why are people uninstalling ChatGPT after the defense deal",
    "latest on interest rates and the housing market",
)


@dataclass(frozen=True, slots=True)
class Pace:
    """How the questions are spread and whether housekeeping runs."""

    name: str
    days: float
    housekeeping: bool


def database_bytes(path: Path) -> int:
    """The database file and its write-ahead log."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


async def simulate(path: Path, questions: int, pace: Pace, checkpoints: Sequence[int]) -> dict[str, Any]:
    """Ask `questions` questions at this pace; the file size at each checkpoint count, in bytes."""
    settings = Settings()
    rng = random.Random(11)
    step = timedelta(days=pace.days) / questions
    touched: dict[int, datetime] = {}
    sizes: dict[int, int] = {}
    next_tidy = START + timedelta(hours=1)
    # Before, SQLite's default let the write-ahead log keep its largest size.
    limit = JOURNAL_SIZE_LIMIT if pace.housekeeping else -1
    async with await Store.open(path, journal_size_limit=limit) as store:
        for number in range(1, questions + 1):
            now = START + step * number
            chat = rng.randrange(1, CHATS + 1)
            if now - touched.get(chat, START - timedelta(days=1)) >= timedelta(minutes=1):
                await store.touch_chat(chat, "private", f"Reader {chat}", now=now)
                touched[chat] = now
            text = f"{QUESTIONS[number % len(QUESTIONS)]} ({number})"
            if rng.random() < MORE_RESULTS_SHARE:
                hours = settings.more_results_hours if pace.housekeeping else 24.0
                await store.save_query(chat, text, ttl=timedelta(hours=hours), now=now)
            await store.log_question(chat, 3, 6.5, None, now=now)
            if pace.housekeeping and now >= next_tidy:
                await store.purge_expired(
                    now,
                    push_log_retention=timedelta(days=settings.push_log_days),
                    question_log_retention=timedelta(days=settings.question_log_days),
                    alert_retention=timedelta(days=settings.alert_history_days),
                    idle_chat_retention=timedelta(days=settings.idle_chat_days),
                )
                await store.checkpoint()
                next_tidy = now + timedelta(minutes=settings.housekeeping_minutes)
            if number in checkpoints:
                sizes[number] = database_bytes(path)
        stats = await store.question_stats(now=START + timedelta(days=pace.days))
    return {
        "pace": pace.name,
        "days": pace.days,
        "housekeeping": pace.housekeeping,
        "bytes": {str(count): size for count, size in sizes.items()},
        "bytes_per_question": {str(count): round(size / count, 1) for count, size in sizes.items()},
        "questions_counted": stats.total,
    }


async def run(questions: int) -> list[dict[str, Any]]:
    """Every pace, before and after, each in a fresh database."""
    checkpoints = sorted({5_000, questions // 2, questions} & set(range(1, questions + 1)))
    paces = [
        Pace("busy day, before (no housekeeping)", 1.0, False),
        Pace("busy day", 1.0, True),
        Pace("100 days, before (no housekeeping)", 100.0, False),
        Pace("100 days", 100.0, True),
    ]
    out = []
    with tempfile.TemporaryDirectory(prefix="newsbot-storage-") as directory:
        for number, pace in enumerate(paces):
            out.append(await simulate(Path(directory) / f"db-{number}.sqlite3", questions, pace, checkpoints))
    return out


def table(rows: list[dict[str, Any]]) -> str:
    """Bytes per question at each checkpoint, one line per pace."""
    counts = list(rows[0]["bytes"])
    header = f"{'pace':<36}" + "".join(f"{f'after {int(c):,}':>22}" for c in counts)
    lines = ["Database + WAL bytes per question (file size in MB)", header]
    for row in rows:
        cells = "".join(
            f"{row['bytes_per_question'][c]:>12,.0f} B ({row['bytes'][c] / 1e6:5.2f})" for c in counts
        )
        lines.append(f"{row['pace']:<36}{cells}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m bench.storage [--questions N] [--json PATH]."""
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=50_000, metavar="N", help="how many (50,000)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here instead")
    args = parser.parse_args(argv)
    rows = asyncio.run(run(args.questions))
    target = args.json or RESULTS / "storage.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(table(rows))
    print(f"\nfigures written to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
