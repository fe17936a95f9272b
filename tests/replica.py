"""`newsbot run` as one replica of the replica tests and bench.replicas: the real command, with one setting
no deployment can make — a global alert rate above Telegram's 30 messages a second (argv[1], messages per
second), so a fan-out to thousands of chats takes seconds instead of minutes. Everything else comes from
the NEWSBOT_* environment, as for `newsbot run`.

    python -m tests.replica 400
"""

from __future__ import annotations

import sys
from typing import Any

from bot import cli
from bot.settings import Settings, load_settings


def main(argv: list[str]) -> int:
    """Run the bot with the send rate argv[0] (messages per second, every replica together)."""
    rate = float(argv[0])

    def with_rate(**overrides: Any) -> Settings:
        return load_settings(**overrides).model_copy(update={"send_rate": rate})

    setattr(cli, "load_settings", with_rate)  # noqa: B010 - the one setting past validation's cap
    return cli.main(["run"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
