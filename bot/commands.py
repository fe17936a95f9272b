"""The bot's command table: one place that /help, usage lines, the Telegram command menu and the README
all follow.

Pure data; must not import telegram. tests/test_docs.py checks the README against it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    """One slash command: its name, argument synopsis, what it does, an example, and a usage hint."""

    name: str
    args: str
    description: str
    example: str
    admin: bool = False
    hint: str = ""  # said after the usage line when the command is used wrongly


COMMANDS: tuple[Command, ...] = (
    Command("start", "", "Welcome, what the archive holds and example questions", "/start"),
    Command("help", "", "Every command with an example", "/help"),
    Command("search", "QUERY", "Search the archive (works in groups too)", "/search Sora daily losses"),
    Command("ask", "QUESTION", "Same as /search", "/ask why is OpenAI closing Sora?"),
    Command("latest", "[TOPIC]", "The newest articles, optionally of one topic", "/latest openai"),
    Command(
        "brief",
        "TOPIC|WORDS [24h|7d]",
        "The period's top stories on a topic or keywords, in sentences quoted from the articles",
        "/brief openai 7d",
        hint="The period is the last 24 hours unless you add 7d; /topics lists the topics.",
    ),
    Command("topics", "", "Tracked topics with their article counts", "/topics"),
    Command(
        "subscribe",
        "TOPIC|WORDS [now|daily HH:MM|weekly DAY HH:MM]",
        "Alerts for new articles on a topic or keywords, as they come or as a digest",
        "/subscribe openai daily 08:00",
        hint='WORDS may hold "quoted phrases" and -excluded words; /topics lists the topics. '
        "Digest times are in the chat's /timezone.",
    ),
    Command(
        "unsubscribe",
        "TOPIC|WORDS|all",
        "Stop alerts for a topic, keywords or everything",
        "/unsubscribe all",
        hint="/subscriptions lists them with remove buttons.",
    ),
    Command("subscriptions", "", "This chat's subscriptions, with remove buttons", "/subscriptions"),
    Command(
        "timezone",
        "[Area/City]",
        "The time zone digest times are read in (UTC until set)",
        "/timezone Europe/Berlin",
    ),
    Command("related", "on|off", "Turn related-story pushes on or off in this chat", "/related off"),
    Command("status", "", "Archive size, last corpus load, whether alerts are flowing", "/status"),
    Command(
        "reload",
        "[full]",
        "Read the corpus files that changed (full: re-read and re-index everything)",
        "/reload",
        admin=True,
    ),
    Command("stats", "", "Usage, storage and uptime figures", "/stats", admin=True),
    Command(
        "sources",
        "[add URL [NAME]]",
        "Feeds polled for news, with their health and pause/resume/remove buttons; add a feed",
        "/sources add https://example.org/feed.xml Example News",
        admin=True,
        hint="Without arguments it lists the sources; `add` checks the URL once and adds it.",
    ),
    Command(
        "digest",
        "now",
        "Send this chat's waiting digests now, to try a schedule (they are not sent again at their time)",
        "/digest now",
        admin=True,
        hint="It sends what scheduled subscriptions (/subscribe TOPIC daily HH:MM) collected in this chat.",
    ),
)


def command(name: str) -> Command:
    """The command called `name` (without the slash); KeyError for a name not in the table."""
    for candidate in COMMANDS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def user_commands() -> tuple[Command, ...]:
    """Commands everyone may use."""
    return tuple(command for command in COMMANDS if not command.admin)


def admin_commands() -> tuple[Command, ...]:
    """Commands only NEWSBOT_ADMIN_IDS may use."""
    return tuple(command for command in COMMANDS if command.admin)
