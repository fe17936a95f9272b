"""Inline buttons as data: a label with callback data (at most 64 bytes) or an http(s) URL, laid out in rows.

The Telegram side (bot.tg.sending) turns these into python-telegram-bot markup. Pure and synchronous: must
not import telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.render.html import safe_url

CALLBACK_DATA_LIMIT = 64  # bytes of UTF-8


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: exactly one of callback_data (≤ 64 bytes UTF-8) or an http(s) url."""

    text: str
    callback_data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a button needs a label")
        if (self.callback_data is None) == (self.url is None):
            raise ValueError("a button needs exactly one of callback_data or url")
        if self.callback_data is not None:
            size = len(self.callback_data.encode("utf-8"))
            if not 1 <= size <= CALLBACK_DATA_LIMIT:
                raise ValueError(f"callback_data must be 1-{CALLBACK_DATA_LIMIT} bytes, got {size}")
        if self.url is not None and safe_url(self.url) is None:
            raise ValueError(f"not an http(s) URL: {self.url!r}")


Keyboard = tuple[tuple[Button, ...], ...]


def grid(buttons: Iterable[Button], width: int = 3) -> Keyboard:
    """Buttons laid out in rows of at most `width`."""
    if width < 1:
        raise ValueError("width must be at least 1")
    flat = tuple(buttons)
    return tuple(flat[i : i + width] for i in range(0, len(flat), width))
