"""Admin handlers: /reload and /stats, for the user ids in NEWSBOT_ADMIN_IDS only.

The sender is checked at the moment each command runs; anyone else is told the command is for admins,
nothing happens, and the attempt is logged with the user id.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import ContextTypes

from bot import render
from bot.handlers import thread_of
from bot.runtime import ReloadInProgress, Runtime
from bot.sending import send_html
from bot.store import StoreError

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
NOT_ADMIN = "This command is for admins."


class AdminHandlers:
    """Callbacks for admin commands."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def _allowed(self, update: Update, context: Context, command: str) -> bool:
        user = update.effective_user
        if self.runtime.is_admin(user.id if user else None):
            return True
        log.warning(
            "refused /%s for user %s (not in NEWSBOT_ADMIN_IDS)", command, user.id if user else "unknown"
        )
        message = update.effective_message
        if message is not None:
            await send_html(context.bot, message.chat_id, NOT_ADMIN, thread_id=thread_of(message))
        return False

    async def reload(self, update: Update, context: Context) -> None:
        """/reload: re-read the corpus off the event loop, swap the snapshot, report what changed."""
        message = update.effective_message
        if message is None or not await self._allowed(update, context, "reload"):
            return
        try:
            outcome = await self.runtime.reload()
        except ReloadInProgress:
            await send_html(
                context.bot,
                message.chat_id,
                "A reload is already running; try again when it has finished.",
                thread_id=thread_of(message),
            )
            return
        except StoreError as error:
            # The new snapshot answers questions already; only recording its articles (and queueing their
            # alerts) failed, in one transaction that left nothing half-written.
            trouble = error.description
            log.error("reload: the articles could not be recorded: %s", trouble)
            await send_html(
                context.bot,
                message.chat_id,
                render.escape(
                    f"Reloaded, but the articles could not be recorded: {trouble}. No alerts were queued "
                    "for new articles; run /reload again once the database can be written."
                ),
                thread_id=thread_of(message),
            )
            return
        html = render.reload_report(
            before=outcome.before,
            after=outcome.after,
            seconds=outcome.seconds,
            added=[article.title for article in outcome.added],
            changed=[article.title for article in outcome.changed],
            removed=[article.title for article in outcome.removed],
            problems=outcome.problems,
            kept_old=outcome.kept_old,
            error=outcome.error,
        )
        await send_html(context.bot, message.chat_id, html, thread_id=thread_of(message))

    async def stats(self, update: Update, context: Context) -> None:
        """/stats: archive, usage, storage and uptime figures."""
        message = update.effective_message
        if message is None or not await self._allowed(update, context, "stats"):
            return
        library = self.runtime.library
        store = self.runtime.store
        questions = await store.question_stats()
        uptime = datetime.now(UTC) - self.runtime.started_at
        rows = [
            ("Articles", f"{library.article_count:,}"),
            ("Passages", f"{len(library.passages):,}"),
            ("Topics", f"{len(library.topics):,}"),
            (
                "Chats",
                f"{await store.count_chats(active_only=True):,} active, {await store.count_chats():,} total",
            ),
            ("Questions (24 h)", f"{questions.last_24h:,}"),
            ("Questions (total)", f"{questions.total:,}"),
            (
                "Average answer time",
                (f"{questions.avg_duration_ms:.1f} ms" if questions.avg_duration_ms is not None else "–"),
            ),
            ("Subscriptions", _per_topic(await store.subscription_counts_by_topic())),
            ("Alerts", _alerts(await store.alert_counts())),
            ("Last alert delivered", render.format_moment(await store.last_delivery_at())),
            ("Database size", _size(await store.database_size_bytes())),
            ("Uptime", _duration(uptime.total_seconds())),
        ]
        await send_html(
            context.bot, message.chat_id, render.key_values("Stats", rows), thread_id=thread_of(message)
        )


def _per_topic(counts: dict[str, int]) -> str:
    if not counts:
        return "none"
    return ", ".join(
        f"{slug} {count:,}" for slug, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def _alerts(counts: dict[str, int]) -> str:
    return ", ".join(
        f"{status} {counts.get(status, 0):,}" for status in ("pending", "sent", "failed", "parked")
    )


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return f"{count} bytes"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {secs}s"
