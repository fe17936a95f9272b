"""Settings: one pydantic-settings model read from NEWSBOT_* environment variables and a .env file.

Constructed by the command line (bot/cli.py, and bot/quickstart.py to look for a token) and passed on,
to the composition root (bot/compose.py) among others; nothing here runs at import time.
Every field is listed, with a comment, in .env.example (tests/test_docs.py keeps the two in step).
A NEWSBOT_* name that is no setting is found by unknown_variables, with the setting it resembles.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "NEWSBOT_"
ENV_FILE = ".env"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# Telegram's rule for setWebhook's secret_token: 1-256 characters, letters, digits, _ and -.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_FIELDS = frozenset({"telegram_token", "webhook_secret"})  # never echoed, even when malformed
# NEWSBOT_* names that are not settings but are not mistakes either: the tests' PostgreSQL server and
# the long runs of the replica tests.
NOT_SETTINGS = frozenset({"NEWSBOT_TEST_POSTGRES"})
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def default_snapshot_dir() -> Path:
    """Where index snapshots go unless NEWSBOT_SNAPSHOT_DIR says: the user's cache directory
    ($XDG_CACHE_HOME/newsbot/snapshots, else ~/.cache/newsbot/snapshots), never the working directory,
    so a read-only command run anywhere leaves nothing behind there."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if cache and Path(cache).is_absolute() else Path.home() / ".cache"
    return base / "newsbot" / "snapshots"


class Settings(BaseSettings):
    """Everything an operator can configure, with defaults that work out of the box."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        validate_default=True,
    )

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    corpus_dir: Path = Path("corpus")
    topics_file: Path | None = None
    database: Path | str = Path("data/newsbot.sqlite3")  # a SQLite file, or postgresql://… (kept as str)
    log_level: LogLevel = "INFO"
    log_questions: bool = False
    max_file_mb: float = Field(default=5.0, gt=0)
    push_default: bool = True
    push_cooldown_minutes: float = Field(default=30.0, ge=0)
    push_repeat_hours: float = Field(default=24.0, ge=0)
    push_max_per_hour: int = Field(default=4, ge=0)
    push_log_days: float = Field(default=7.0, gt=0)
    corpus_poll_seconds: float = Field(default=300.0, ge=0)
    send_rate: float = Field(default=25.0, gt=0, le=30)
    questions_per_minute: int = Field(default=20, ge=1)
    typing_after_seconds: float = Field(default=0.3, ge=0)
    min_relevance: float = Field(default=0.4, ge=0, le=1)  # = bot.core.library.MIN_RELEVANCE (tested)
    snapshot_dir: Path = Field(default_factory=default_snapshot_dir)
    housekeeping_minutes: float = Field(default=60.0, gt=0)
    sources_file: Path | None = None
    fetch_every_seconds: float = Field(default=300.0, ge=5)
    fetch_private_addresses: bool = False
    fetch_timeout_seconds: float = Field(default=20.0, gt=0)
    fetch_max_mb: float = Field(default=5.0, gt=0)
    fetch_max_failures: int = Field(default=5, ge=1)
    fetch_concurrency: int = Field(default=4, ge=1, le=64)
    full_text_below_chars: int = Field(default=500, ge=0)
    fetch_retention_days: float = Field(default=0.0, ge=0)
    more_results_hours: float = Field(default=1.0, gt=0)
    question_log_days: float = Field(default=30.0, gt=0)
    alert_history_days: float = Field(default=30.0, gt=0)
    # Telegram lets a bot edit its message for 48 hours; older alerts are left as they are.
    alert_edit_hours: float = Field(default=24.0, ge=0, le=48)
    idle_chat_days: float = Field(default=180.0, gt=0)
    # Webhook mode when the URL is set (long polling otherwise); webhook_secret must follow the URL, its
    # validator reads it.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8443, ge=1, le=65535)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # On PostgreSQL: how long a replica's claim on queued alerts lasts before another may send them.
    alert_lease_seconds: float = Field(default=30.0, ge=1)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: Any) -> Any:
        # Operators write both `1,2` and `[1,2]`; JSON decoding is off (NoDecode) so both arrive here.
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as error:
                    raise ValueError(f"not a JSON list of user ids: {error.msg}") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("database", mode="after")
    @classmethod
    def _database_target(cls, value: Path | str) -> Path | str:
        # A postgresql:// URL stays text (a Path would fold its "//"); anything else is a SQLite file.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith(POSTGRES_SCHEMES):
                return text
            if "://" in text:
                raise ValueError("must be a SQLite file path or a postgresql:// URL")
            return Path(text)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("telegram_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        # PTB appends the token directly, so a trailing slash would produce ".../bot/123:ABC".
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        # Telegram itself posts only to https; a self-hosted Bot API server (and the stand-in) also to http.
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (Telegram posts updates to HTTPS only)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if info.data.get("webhook_url"):
                raise ValueError("required when NEWSBOT_WEBHOOK_URL is set (1-256 of A-Z a-z 0-9 _ -)")
            return None
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters, each a letter A-Z or a-z, a digit, _ or -")
        return value

    @property
    def webhook(self) -> bool:
        """Whether the bot runs in webhook mode (NEWSBOT_WEBHOOK_URL is set) instead of long polling."""
        return self.webhook_url is not None

    @property
    def postgres_dsn(self) -> str | None:
        """The PostgreSQL URL when NEWSBOT_DATABASE names one (replicas share it); None for a SQLite file."""
        return self.database if isinstance(self.database, str) else None

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file NEWSBOT_DATABASE names; None for PostgreSQL."""
        return self.database if isinstance(self.database, Path) else None

    @property
    def topics_path(self) -> Path:
        """The topics file: NEWSBOT_TOPICS_FILE, else topics.yaml inside the corpus directory."""
        return self.topics_file if self.topics_file is not None else self.corpus_dir / "topics.yaml"

    @property
    def sources_path(self) -> Path:
        """The sources file: NEWSBOT_SOURCES_FILE, else sources.yaml inside the corpus directory."""
        return self.sources_file if self.sources_file is not None else self.corpus_dir / "sources.yaml"

    @property
    def fetch_max_bytes(self) -> int:
        """The largest feed or page the fetcher reads, in bytes."""
        return int(self.fetch_max_mb * 1024 * 1024)

    @property
    def max_file_bytes(self) -> int:
        """The corpus loader's per-file size cap in bytes."""
        return int(self.max_file_mb * 1024 * 1024)


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming the variable."""


def describe_validation_error(error: ValidationError) -> str:
    """One line naming the first bad NEWSBOT_ variable and what was wrong with it."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    variable = ENV_PREFIX + field.upper()
    message = first["msg"].removeprefix("Value error, ")
    given = first.get("input")
    # A database URL may hold a password: never echoed either.
    secret = field in SECRET_FIELDS or (field == "database" and "://" in str(given))
    shown = "" if secret or isinstance(given, dict) or given is None else f" (got {str(given)[:60]!r})"
    return f"{variable}: {message}{shown}"


def unknown_variables(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> list[str]:
    """One line for each NEWSBOT_* name in the environment or .env that is no setting, naming the
    closest real one (pydantic-settings would ignore it in silence)."""
    known = sorted(ENV_PREFIX + name.upper() for name in Settings.model_fields)
    allowed = {*known, *NOT_SETTINGS}
    found: list[tuple[str, str]] = []
    for name in os.environ if environ is None else environ:
        found.append((name, "environment"))
    path = Path(ENV_FILE) if env_file is None else env_file
    if path.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):  # pydantic-settings reports those itself
            found.extend((name, ".env") for name in dotenv_values(path))
    lines = []
    for name, where in found:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in allowed:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.75)
        if close:
            lines.append(f"{name} ({where}) is not a setting; did you mean {close[0]}?")
        else:
            lines.append(f"{name} ({where}) is not a setting and is ignored (see .env.example)")
    return lines


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and .env; raise SettingsError with a one-line message."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
