"""A stand-in for the Telegram Bot API on 127.0.0.1, for end-to-end tests, the playground and benchmarks.

The real python-telegram-bot stack talks to BotApiStandIn (server.py) over HTTP. It is made of parts:
the world's state and event log (world.py), the users' actions (scenario.py), the update queue
(updates.py), the Bot API methods (methods.py) and webhook delivery (webhook.py); html.py parses
Telegram's HTML like Telegram does.
Must not import telegram.
"""

from bot.render.html import utf16_len
from bot.standin.entities import Entity, FormattedText
from bot.standin.html import HtmlParseError, escape, parse_html
from bot.standin.protocol import ApiError
from bot.standin.scenario import Scenario
from bot.standin.server import BotApiStandIn, Fault, FaultKind, RequestRecord
from bot.standin.updates import UpdateQueue
from bot.standin.webhook import Delivery
from bot.standin.world import Event, EventKind, World

__all__ = [
    "ApiError",
    "BotApiStandIn",
    "Delivery",
    "Entity",
    "Event",
    "EventKind",
    "Fault",
    "FaultKind",
    "FormattedText",
    "HtmlParseError",
    "RequestRecord",
    "Scenario",
    "UpdateQueue",
    "World",
    "escape",
    "parse_html",
    "utf16_len",
]
