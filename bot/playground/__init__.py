"""The local playground: the real bot, a Telegram Bot API stand-in and a browser chat page on 127.0.0.1.

`newsbot playground` runs it (see bot/cli.py); tests use running_playground(). The page (static/) is
plain HTML, CSS and JavaScript served by the playground itself. Uses no telegram types itself: it
runs the bot only through bot.localbot, which composes and runs it exactly as `newsbot run` does.
"""

from bot.playground.scene import Chat, Person, Scene, build_scene
from bot.playground.server import PlaygroundServer, is_loopback
from bot.playground.session import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Playground,
    PlaygroundError,
    bind_warning,
    describe,
    run_playground,
    running_playground,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Chat",
    "Person",
    "Playground",
    "PlaygroundError",
    "PlaygroundServer",
    "Scene",
    "bind_warning",
    "build_scene",
    "describe",
    "is_loopback",
    "run_playground",
    "running_playground",
]
