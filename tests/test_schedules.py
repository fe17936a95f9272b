"""Digest schedules: parsing, due times across time zones and clock changes, time zone names."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.core.schedules import (
    NOW,
    Cadence,
    Schedule,
    ScheduleError,
    parse_schedule,
    split_schedule,
    zone,
    zone_or_utc,
)


def test_parse_and_canonical_text() -> None:
    assert parse_schedule("now") is NOW
    assert parse_schedule("Daily 8:05").text == "daily 08:05"
    assert parse_schedule("weekly Monday 18.30") == Schedule(Cadence.WEEKLY, time(18, 30), 0)
    for bad in ("daily 25:00", "weekly funday 08:00", "hourly", "daily"):
        with pytest.raises(ScheduleError):
            parse_schedule(bad)


def test_split_schedule_off_the_subscription() -> None:
    assert split_schedule('sora "world model" daily 08:00') == (
        'sora "world model"',
        parse_schedule("daily 08:00"),
    )
    assert split_schedule("openai weekly fri 17:00")[1] == Schedule(Cadence.WEEKLY, time(17), 4)
    assert split_schedule("openai now") == ("openai", NOW)
    assert split_schedule("daily mail") == ("daily mail", None)
    with pytest.raises(ScheduleError):
        split_schedule("openai daily 24:10")


def test_due_times_in_the_chats_zone() -> None:
    berlin = zone("Europe/Berlin")
    daily = parse_schedule("daily 08:00")
    now = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)  # 07:30 in Berlin
    assert daily.latest_due(now, berlin) == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    assert daily.next_due(now, berlin) == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    weekly = parse_schedule("weekly mon 08:00")  # 2026-03-09 is a Monday
    assert weekly.latest_due(now, berlin) == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    assert weekly.next_due(now, berlin) == datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
    assert NOW.latest_due(now, berlin) is None and NOW.next_due(now, berlin) is None


def test_a_time_skipped_by_the_clock_change_falls_after_the_gap() -> None:
    berlin = zone("Europe/Berlin")
    # 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 → 03:00): taken as 03:30 CEST.
    due = parse_schedule("daily 02:30").next_due(datetime(2026, 3, 28, 23, 0, tzinfo=UTC), berlin)
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_zone_names() -> None:
    assert zone("europe/berlin").key == "Europe/Berlin"
    for bad in ("Mars/Olympus", "../etc/passwd", "", "x" * 100):
        with pytest.raises(ScheduleError):
            zone(bad)
    assert zone_or_utc(None).key == "UTC" and zone_or_utc("Nowhere/Else").key == "UTC"
