"""Logging set-up with secret redaction: the bot token never reaches a log line, at any level.

httpx and PTB log request URLs, and Bot API URLs contain the token. Every LogRecord is created by a
factory that redacts its message and pre-formats (and redacts) any traceback, so every handler — ours,
pytest's caplog, a library's — only ever sees the redacted text. httpx's per-request INFO lines are
silenced as well, since they are noise at one line per poll, and PTB's traceback for a reply that is
not JSON (a proxy's error page) becomes one warning line: the caller reports what it means.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

_secrets: tuple[str, ...] = ()
_original_factory = logging.getLogRecordFactory()


def redact(text: str) -> str:
    """Replace every registered secret (and its URL-encoded form) in text."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def register_secrets(secrets: Iterable[str]) -> None:
    """Add secrets to redact and install the redacting record factory (idempotent)."""
    global _secrets
    extra = []
    for secret in secrets:
        if secret and len(secret) >= 6:
            extra.extend([secret, secret.replace(":", "%3A")])
    _secrets = tuple(dict.fromkeys((*_secrets, *extra)))
    logging.setLogRecordFactory(_redacting_record)


def _redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _original_factory(*args, **kwargs)
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a malformed %-format must not lose the record
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class _OneLinePages(logging.Filter):
    """PTB logs a whole HTML error page with a traceback when a reply is not JSON: keep one short line."""

    PREFIX = "Can not load invalid JSON data"

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(self.PREFIX):
            page = " ".join(message[len(self.PREFIX) :].split())[:120]
            record.msg, record.args = f"a Bot API reply was not JSON (an error page?): {page}", None
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Log to stderr at `level`, with secrets redacted and per-request HTTP chatter silenced."""
    register_secrets(secrets)
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(handler, "_newsbot", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._newsbot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    requests = logging.getLogger("telegram.request.BaseRequest")
    if not any(isinstance(existing, _OneLinePages) for existing in requests.filters):
        requests.addFilter(_OneLinePages())
