"""A stand-in for the Telegram Bot API on 127.0.0.1, for end-to-end tests and the playground.

The real python-telegram-bot stack talks to BotApiStandIn over HTTP; html.py parses Telegram's
HTML like Telegram does. Must not import telegram.
"""

from bot.standin.entities import Entity, FormattedText, utf16_len
from bot.standin.html import HtmlParseError, escape, parse_html
from bot.standin.protocol import ApiError
from bot.standin.server import BotApiStandIn, Fault, FaultKind, RequestRecord
from bot.standin.world import Event, EventKind

__all__ = [
    "ApiError",
    "BotApiStandIn",
    "Entity",
    "Event",
    "EventKind",
    "Fault",
    "FaultKind",
    "FormattedText",
    "HtmlParseError",
    "RequestRecord",
    "escape",
    "parse_html",
    "utf16_len",
]
