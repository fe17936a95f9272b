"""The end-to-end benchmark on tiny data: the real bot process answers every question and delivers every
alert exactly once; the synthetic corpus is reproducible. Figures are not asserted (the machine is shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.e2e import Plan, pacing, run_plan, table
from bench.e2e_corpus import ALERT_TOPIC, CorpusSpec, load_vocabulary, questions, write_corpus

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc_news" / "bbc_news.jsonl.gz"
needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"BBC News research data not found at {DATA}")

TINY = Plan(
    "tiny",
    articles=300,
    users=4,
    open_rates=(20.0,),
    open_seconds=0.5,  # ten questions at 20 a second
    closed_seconds=0.5,
    fanout_chats=25,
    delivery_window=25,
    send_rate=30.0,
    fanout_repeats=1,
    question_count=100,
    startup_timeout=60.0,
)


def test_pacing_counts_the_busiest_second_and_the_average_rate() -> None:
    times = [0.0, 0.1, 0.2, 0.25, 1.3, 2.0]
    figures = pacing(times)
    assert figures["max_in_1s"] == 4  # 0.0, 0.1, 0.2, 0.25 fall inside one second
    assert figures["achieved_per_s"] == 2.5  # five gaps over two seconds
    assert pacing([4.0])["achieved_per_s"] is None


@needs_data
def test_synthetic_corpus_is_reproducible(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(DATA)
    first = write_corpus(tmp_path / "a", CorpusSpec(120, seed=3), vocabulary)
    second = write_corpus(tmp_path / "b", CorpusSpec(120, seed=3), vocabulary)
    files = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert files == ["articles-0000.jsonl", "topics.yaml"]
    assert first == second and first >= 120  # every article has at least one passage
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rows = [json.loads(line) for line in (tmp_path / "a" / "articles-0000.jsonl").read_text().splitlines()]
    assert len(rows) == 120 and len({row["id"] for row in rows}) == 120
    assert all(row["title"] and row["body"] and ALERT_TOPIC not in row for row in rows)
    assert questions(tmp_path / "a", 5, seed=1) == questions(tmp_path / "b", 5, seed=1)


@needs_data
async def test_tiny_run_answers_everything_and_delivers_every_alert_once(tmp_path: Path) -> None:
    result = await run_plan(TINY, tmp_path, DATA)

    answers = result["answers"]
    assert answers["exit_code"] == 0 and answers["warmup_unanswered"] == 0
    for phase in [*answers["open_loop"], answers["closed_loop"]]:
        assert phase["answered"] == phase["questions"] > 0
        assert phase["other_replies"] == 0  # no apologies, no "slow down"
        assert phase["with_results"] > 0
        assert phase["latency_ms"]["p50"] is not None  # every answer was paired with its update
    assert answers["memory_idle"]["rss_mb"] > 0

    alerts = result["alerts"]
    assert alerts["exit_code"] == 0
    assert alerts["fanout"]["subscribers"] == 25  # one alert per subscribed chat
    delivery = alerts["delivery"]
    assert delivery["queued"] == delivery["delivered"] == delivery["sent_in_db"] == 25
    assert delivery["lost"] == delivery["duplicates"] == delivery["wrong_text"] == 0
    assert delivery["pending_in_db"] == delivery["failed_in_db"] == 0

    printed = table(result)
    assert "open loop" in printed and "alerts lost / duplicated" in printed
    json.dumps(result)  # the figures are JSON-able as they are
