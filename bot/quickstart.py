"""`python -m bot.quickstart has-token`: exit 0 when a bot token is configured, 1 otherwise.

Used by `make run` to choose between the Telegram bot and the playground; prints nothing, never the token.
"""

from __future__ import annotations

import sys

from bot.settings import SettingsError, load_settings


def has_token() -> bool:
    """Whether NEWSBOT_TELEGRAM_TOKEN is set (environment or .env) to something non-blank."""
    try:
        settings = load_settings()
    except SettingsError:
        return True  # let `newsbot run` report the bad setting with its one-line message
    token = settings.telegram_token
    return token is not None and bool(token.get_secret_value().strip())


if __name__ == "__main__":
    if sys.argv[1:] != ["has-token"]:
        print("usage: python -m bot.quickstart has-token", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(0 if has_token() else 1)
