"""The story-delivery benchmark on tiny data: its texts group as meant, its counting is right, and a run
with 20 chats (the real bot process, the stand-in, feeds on 127.0.0.1) delivers exactly once. Timings
are not asserted (the machine is shared); pacing is, since the bot keeps to it at any size."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.delivery_corpus import PORT_REPORTS, RAIL_STORIES, Report, tide_bulletins, write_archive
from bench.story_delivery import Plan, chat_gaps, checks, run_plan, table
from bot.core.corpus import load_corpus
from bot.core.models import Article
from bot.core.stories import StoryIndex
from bot.standin import RequestRecord

TINY = Plan(
    "tiny",
    chats=20,
    # The reports still reach the bot at different polls (each feed keeps its own rhythm); a short gap
    # makes it unlikely that one is added just after its feed's poll and waits a whole interval (5 s).
    report_gap=0.1,
    heavy_every=5,
    digest_lead=None,  # a digest missed while the bot was down: sent at start-up, no waiting for a minute
    quiet=1.5,
    startup_timeout=60.0,
    first_polls_now=True,  # no waiting for each feed's first poll, spread over its first interval
    together=True,  # the digests scenario runs beside the first once its bot polls (not timed here)
)


def _article(report: Report, published: datetime) -> Article:
    return Article(report.slug, report.title, report.body, published=published, source=report.source)


def test_the_five_reports_make_one_story_and_the_digest_stories_thirty_three(tmp_path: Path) -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    write_archive(tmp_path, TINY.archive, now)
    index = StoryIndex()
    index.add_all(load_corpus(tmp_path).articles, at=now)  # the archive the bot starts with
    # In any arrival order the reports join one story (each feed is polled in its own rhythm).
    for report in reversed(PORT_REPORTS):
        index.add(_article(report, now), at=now)
    assert len({index.story_of(report.slug) for report in PORT_REPORTS}) == 1
    digest_stories = sorted([*RAIL_STORIES, *tide_bulletins(30)], key=lambda report: report.slug)
    for minutes, report in enumerate(digest_stories):  # in the corpus loader's order (by file name)
        index.add(_article(report, now - timedelta(hours=6, minutes=-minutes)), at=now)
    rail = [index.story_of(report.slug) for report in RAIL_STORIES]
    assert rail[0] == rail[1] and len(set(rail)) == 3
    assert len({index.story_of(report.slug) for report in digest_stories}) == 3 + 30


def test_chat_gaps_find_the_closest_two_requests_of_a_chat() -> None:
    def request(seq: int, chat: int, at: float) -> RequestRecord:
        return RequestRecord(seq, "sendMessage", {"chat_id": chat}, at, 200, None)

    records = [request(1, 5, 0.0), request(2, 6, 0.1), request(3, 5, 1.2), request(4, 6, 0.9)]
    assert chat_gaps(records) == {"chats_with_two_or_more": 2, "min_gap_s": 0.8, "chats_under_interval": 1}
    assert chat_gaps([]) == {"chats_with_two_or_more": 0, "min_gap_s": None, "chats_under_interval": 0}


async def test_a_tiny_run_delivers_one_alert_per_story_and_every_digest_once(tmp_path: Path) -> None:
    result = await run_plan(TINY, tmp_path)

    one = result["one_alert_per_story"]
    assert one["finished"] and one["exit_code"] == 0
    assert one["stories"] == 1 and len(one["reports_ingested_at_s"]) == 5
    assert one["chats_with_one_alert"] == one["alerts_sent"] == 20
    assert one["chats_missed"] == one["chats_with_more_than_one"] == 0
    assert one["alerts_naming_every_source"] == 20  # edits brought every alert up to date
    assert one["outbox"]["sent"] == 20 and one["outbox"]["pending"] == one["outbox"]["failed"] == 0

    two = result["digests"]
    assert two["finished"] and two["exit_code"] == 0
    assert two["stories_queued"] == 16 * 3 + 4 * 33  # one entry for the story reported twice
    assert two["stories_lost"] == two["stories_doubled"] == 0
    assert two["chats_with_one_message"] == two["light_chats"] == 16
    # Thirty long bulletins (each with its best sentence) do not fit in one message: every heavy chat
    # gets its digest in the same number of parts.
    ((parts, heavy_chats),) = two["heavy_chat_parts"].items()
    assert parts >= 2 and heavy_chats == 4
    assert two["heavy_part_chars_max"] <= 4096
    assert two["digests_naming_the_other_source"] == 20

    for scenario in (one, two):
        assert scenario["http_429"] == 0 and scenario["statuses"] == {"200": scenario["requests"]}
        assert scenario["per_chat"]["chats_under_interval"] == 0
        assert scenario["max_requests_in_1s"] <= TINY.send_rate + 1
    assert all(row[3] for row in result["checks"]) and checks(result)
    assert "one digest message" in table(result)
    json.dumps(result)  # the figures are JSON-able as they are
