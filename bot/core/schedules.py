"""Digest schedules: when a subscription's alerts arrive — at once, or as a digest daily or weekly at a
local time in the chat's time zone — and the time zone names chats choose (IANA, via zoneinfo).

`parse_schedule("weekly mon 08:30")`, `split_schedule("openai daily 08:00")` (what /subscribe reads),
`Schedule.latest_due(now, zone)` and `next_due`. Local times that a clock change skips are taken at the
same offset as just before the change (02:30 on a spring-forward night is 03:30); times it repeats, at
the first of the two. Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {name: number for number, name in enumerate(DAYS)} | {
    name: number
    for number, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
MAX_ZONE_CHARS = 64


class Cadence(StrEnum):
    """How often a subscription's news arrives."""

    NOW = "now"  # an alert as each story comes in
    DAILY = "daily"
    WEEKLY = "weekly"


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """`now`, or a digest every day (or one weekday) at a local hour and minute."""

    cadence: Cadence = Cadence.NOW
    at: time = time(0, 0)
    weekday: int = 0  # Monday = 0, for weekly digests

    @property
    def text(self) -> str:
        """The canonical form, as stored and read back: now, daily 08:00, weekly mon 08:00."""
        if self.cadence is Cadence.NOW:
            return "now"
        clock = f"{self.at:%H:%M}"
        if self.cadence is Cadence.DAILY:
            return f"daily {clock}"
        return f"weekly {DAYS[self.weekday]} {clock}"

    @property
    def is_digest(self) -> bool:
        """Whether news is gathered into digests (not sent as it comes)."""
        return self.cadence is not Cadence.NOW

    def latest_due(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """The last moment at or before `now` a digest was due (UTC), None for `now` subscriptions."""
        if not self.is_digest:
            return None
        local_day = now.astimezone(zone).date()
        for back in range(0, 9):
            day = local_day - timedelta(days=back)
            if self.cadence is Cadence.WEEKLY and day.weekday() != self.weekday:
                continue
            moment = _moment(day, self.at, zone)
            if moment <= now:
                return moment
        raise AssertionError("a due time lies within the last eight days")  # pragma: no cover

    def next_due(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """The first moment after `now` a digest falls due (UTC), None for `now` subscriptions."""
        if not self.is_digest:
            return None
        local_day = now.astimezone(zone).date()
        for ahead in range(0, 9):
            day = local_day + timedelta(days=ahead)
            if self.cadence is Cadence.WEEKLY and day.weekday() != self.weekday:
                continue
            moment = _moment(day, self.at, zone)
            if moment > now:
                return moment
        raise AssertionError("a due time lies within the next eight days")  # pragma: no cover

    def period(self) -> timedelta:
        """How much time one digest usually covers."""
        return timedelta(days=7) if self.cadence is Cadence.WEEKLY else timedelta(days=1)


NOW = Schedule()


def _moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time on a day, in UTC. zoneinfo gives a skipped time the offset from before
    the change (so it lands after the gap) and a repeated one its first occurrence (fold=0)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def parse_schedule(text: str) -> Schedule:
    """`now`, `daily HH:MM` or `weekly DAY HH:MM` (DAY: mon … sun or the full name); ScheduleError else."""
    words = text.casefold().split()
    if words == ["now"]:
        return NOW
    if len(words) == 2 and words[0] == "daily":
        return Schedule(Cadence.DAILY, _clock(words[1]))
    if len(words) == 3 and words[0] == "weekly":
        day = _DAY_NAMES.get(words[1])
        if day is None:
            raise ScheduleError(
                f"“{words[1]}” is not a day of the week: use mon, tue, wed, thu, fri, sat or sun."
            )
        return Schedule(Cadence.WEEKLY, _clock(words[2]), day)
    raise ScheduleError("A schedule is `now`, `daily HH:MM` or `weekly DAY HH:MM`, e.g. `weekly mon 08:00`.")


def _clock(word: str) -> time:
    match = _CLOCK.match(word)
    if match is None:
        raise ScheduleError(f"“{word}” is not a time of day: write it as HH:MM, e.g. 08:00 or 18:30.")
    return time(int(match.group(1)), int(match.group(2)))


def split_schedule(text: str) -> tuple[str, Schedule | None]:
    """What /subscribe asked for and its schedule: a trailing `now`, `daily HH:MM` or `weekly DAY HH:MM`
    (None when the text names no schedule). ScheduleError for `daily`/`weekly` followed by something
    that looks like a time but is not one (`daily 25:00`)."""
    words = text.split()
    if len(words) >= 2 and words[-1].casefold() == "now":
        return " ".join(words[:-1]), NOW
    if len(words) >= 3 and words[-2].casefold() == "daily" and _looks_like_clock(words[-1]):
        return " ".join(words[:-2]), parse_schedule(" ".join(words[-2:]))
    if len(words) >= 4 and words[-3].casefold() == "weekly" and _looks_like_clock(words[-1]):
        return " ".join(words[:-3]), parse_schedule(" ".join(words[-3:]))
    return text.strip(), None


def _looks_like_clock(word: str) -> bool:
    return re.fullmatch(r"\d{1,2}[:.h]\d{1,2}", word) is not None


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name` (Europe/Berlin, UTC; case as the database spells it, though a
    differently cased name is found too); ScheduleError when there is none."""
    name = name.strip()
    if not name or len(name) > MAX_ZONE_CHARS or name.startswith(("/", ".")) or ".." in name:
        raise ScheduleError(
            f"“{name[:MAX_ZONE_CHARS]}” is not a time zone. Use a name like Europe/Berlin or UTC."
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    folded = {known.casefold(): known for known in _known_zones()}
    found = folded.get(name.casefold())
    if found is not None:
        return ZoneInfo(found)
    raise ScheduleError(
        f"“{name}” is not a time zone. Use a name like Europe/Berlin, America/New_York or UTC."
    )


_KNOWN: list[frozenset[str]] = []


def _known_zones() -> frozenset[str]:
    if not _KNOWN:
        _KNOWN.append(frozenset(available_timezones()))  # reads the database once: a few milliseconds
    return _KNOWN[0]


def zone_or_utc(name: str | None) -> ZoneInfo:
    """A stored zone name as a ZoneInfo; UTC when there is none or it is no longer known."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return zone(name)
    except ScheduleError:
        return ZoneInfo("UTC")
