"""What the bot says about sources, as Telegram HTML: the /sources list with its health and buttons, what
/sources add found, the notice that a failing source was paused, and the lines /stats and /status add.

Pure and synchronous: plain values in (the Telegram side reads them off the store's records), HTML out.
Must not import telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.render.buttons import Button, Keyboard
from bot.render.html import escape, link
from bot.render.messages import format_moment, shorten

ERROR_SHOWN = 200
NO_SOURCES = (
    "No sources yet. Add a feed with <code>/sources add URL [name]</code>, or list feeds in the sources "
    "file (see the README, “Sources”)."
)
SOURCE_GONE = "That source is no longer listed."
_HEALTH = {"ok": "✅ ok", "new": "🆕 not fetched yet", "failing": "⚠️ failing", "paused": "⏸ paused"}


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One source as /sources shows it."""

    label: str
    url: str
    from_file: bool
    health: str  # ok, new, failing, paused
    every: float
    articles: int
    failures: int = 0
    last_success: datetime | None = None
    last_error: str | None = None
    next_poll: datetime | None = None
    pause_reason: str | None = None
    notes: tuple[str, ...] = ()


def _interval(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def source_list(rows: Sequence[SourceRow], problems: Sequence[str] = ()) -> str:
    """/sources: each source with where it comes from, its health and what its last polls said."""
    blocks: list[str] = []
    if not rows:
        blocks.append(NO_SOURCES)
    else:
        blocks.append(f"<b>Sources</b> ({len(rows):,})")
    for number, row in enumerate(rows, start=1):
        origin = "sources file" if row.from_file else "added in chat"
        lines = [
            f"{number}. {link(shorten(row.label, 80), row.url)} — {_HEALTH.get(row.health, row.health)}",
            f"<i>{escape(shorten(row.url, 120))}</i>",
            escape(
                f"{origin} · every {_interval(row.every)} · {row.articles:,} articles · "
                f"last success {format_moment(row.last_success)}"
            ),
        ]
        if row.health == "paused" and row.pause_reason:
            lines.append(f"Paused: {escape(shorten(row.pause_reason, ERROR_SHOWN))}")
        elif row.failures and row.last_error:
            lines.append(
                f"Failed {row.failures:,}× in a row: {escape(shorten(row.last_error, ERROR_SHOWN))}"
                + (f"; next try {escape(format_moment(row.next_poll))}" if row.next_poll else "")
            )
        for note in row.notes[:2]:
            lines.append(f"Note: {escape(shorten(note, ERROR_SHOWN))}")
        blocks.append("\n".join(lines))
    if problems:
        blocks.append(
            "\n".join(
                [
                    "<b>Sources file problems</b>",
                    *(f"• {escape(shorten(p, ERROR_SHOWN))}" for p in problems[:5]),
                ]
            )
        )
    return "\n\n".join(blocks)


def source_keyboard(rows: Sequence[tuple[bool, str, str | None]]) -> Keyboard | None:
    """Per source (paused, pause-or-resume data, remove data or None): "Pause N" or "Resume N", and
    "Remove N" for sources added in chat (the file's are removed from the file)."""
    keyboard: list[tuple[Button, ...]] = []
    for number, (paused, toggle, remove) in enumerate(rows, start=1):
        buttons = [Button(f"{'Resume' if paused else 'Pause'} {number}", callback_data=toggle)]
        if remove is not None:
            buttons.append(Button(f"Remove {number}", callback_data=remove))
        keyboard.append(tuple(buttons))
    return tuple(keyboard) or None


def source_added(
    *,
    label: str,
    url: str,
    title: str | None,
    format: str | None,
    entries: int,
    stored: int,
    notes: Sequence[str],
) -> str:
    """What /sources add found: the feed's title and format, its entries, how many were stored."""
    lines = [
        f"<b>Added</b> {link(shorten(label, 80), url)}",
        escape(
            f"A {_format_name(format)} feed"
            + (f" called “{shorten(title, 80)}”" if title else "")
            + f" with {entries:,} {'entry' if entries == 1 else 'entries'}; {stored:,} stored as its backlog "
            "(searchable now, no alerts)."
        ),
        "New entries will be fetched on schedule and alerted to subscribers.",
    ]
    lines += [f"Note: {escape(shorten(note, ERROR_SHOWN))}" for note in notes[:3]]
    return "\n".join(lines)


def source_already(label: str, url: str) -> str:
    """/sources add for a URL already polled."""
    return f"{link(shorten(label, 80), url)} is already a source. /sources lists them."


def source_refused(url: str, reason: str) -> str:
    """/sources add for a URL that is not a usable feed."""
    return escape(f"Not added: {shorten(url, 120)}\n{shorten(reason, 400)}")


def source_paused_notice(*, label: str, url: str, reason: str, failures: int | None = None) -> str:
    """The one message each admin gets when a failing source is paused."""
    times = f" after {failures:,} failures in a row" if failures else " after repeated failures"
    return "\n".join(
        [
            f"⏸ <b>Source paused</b>{escape(times)}: {link(shorten(label, 80), url)}",
            f"Last error: {escape(shorten(reason, 400))}",
            "Nothing is fetched from it until you resume it: /sources.",
        ]
    )


def source_toggled(label: str, action: str) -> str:
    """The toast after a pause, resume or remove button (plain text)."""
    return shorten(f"{label}: {action}", 190)


def sources_line(sources: int, ok: int, failing: int, paused: int) -> str:
    """The sources figure of /stats and /status (plain text)."""
    if not sources:
        return "none"
    return f"{sources:,} ({ok:,} ok, {failing:,} failing, {paused:,} paused)"


def _format_name(format: str | None) -> str:
    if not format:
        return "web"
    if format.startswith("json"):
        return "JSON Feed"
    if format.startswith("atom"):
        return "Atom"
    if format.startswith("rss"):
        return "RSS"
    return format
