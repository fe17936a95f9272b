"""Housekeeping: one scheduled job that keeps what the bot remembers from growing without bound.

Every NEWSBOT_HOUSEKEEPING_MINUTES (python-telegram-bot's JobQueue, the job-queue extra) it deletes
saved "More results" questions that have expired (NEWSBOT_MORE_RESULTS_HOURS), push history older than
NEWSBOT_PUSH_LOG_DAYS (never less than the push limits look back on), question-log rows older than
NEWSBOT_QUESTION_LOG_DAYS, delivered or failed alerts older than NEWSBOT_ALERT_HISTORY_DAYS and chats
silent for NEWSBOT_IDLE_CHAT_DAYS that hold nothing they asked for; then it checkpoints the database's
write-ahead log so the files stop growing. It also forgets per-user question windows with no recent
question and chat-administrator answers past their cache time. A failed pass is logged and the next one
tries again; the bot keeps answering either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.settings import Settings
from bot.store import StoreError
from bot.tg.context import BotData, NewsbotApp, NewsbotContext

log = logging.getLogger(__name__)

FIRST_PASS_SECONDS = 60.0  # soon after start-up, so a bot restarted often still tidies up


@dataclass(frozen=True, slots=True)
class Tidied:
    """What one housekeeping pass removed."""

    rows: int  # expired saved questions, old history and idle chats, deleted from the database
    idle_users: int  # per-user question windows forgotten
    admin_answers: int  # cached getChatMember answers forgotten


def push_log_retention(settings: Settings) -> timedelta:
    """How long push history is kept: NEWSBOT_PUSH_LOG_DAYS, but never less than the repeat window,
    the cooldown or the hour the per-chat cap counts over, or the limits would forget too soon."""
    return max(
        timedelta(days=settings.push_log_days),
        timedelta(hours=settings.push_repeat_hours),
        timedelta(minutes=settings.push_cooldown_minutes),
        timedelta(hours=1),
    )


async def tidy(data: BotData) -> Tidied:
    """One housekeeping pass over the database and the Telegram side's in-memory state."""
    settings, store = data.runtime.settings, data.runtime.store
    rows = 0
    if data.leads():  # the database is tidied once, by the leader among replicas
        rows = await store.purge_expired(
            push_log_retention=push_log_retention(settings),
            question_log_retention=timedelta(days=settings.question_log_days),
            alert_retention=timedelta(days=settings.alert_history_days),
            idle_chat_retention=timedelta(days=settings.idle_chat_days),
        )
        await store.checkpoint()
        if store.shared:
            rows += await store.forget_budgets()  # question limits kept for the replicas
    idle = (
        data.questions.forget_idle()
        + data.inline_questions.forget_idle()
        + data.pusher.analysed.forget_idle()
    )
    data.work.forget_idle()
    admins = data.chat_admins.forget_expired()
    return Tidied(rows, idle, admins)


async def housekeeping(context: NewsbotContext) -> None:
    """The scheduled job: one pass, logged; a busy or failing database only postpones it."""
    try:
        done = await tidy(context.bot_data)
    except StoreError as error:
        log.warning("housekeeping could not tidy the database, trying again next time: %s", error)
        return
    log.debug(
        "housekeeping: %d rows deleted, %d idle users and %d admin answers forgotten",
        done.rows,
        done.idle_users,
        done.admin_answers,
    )


def schedule_housekeeping(application: NewsbotApp, settings: Settings) -> None:
    """Run housekeeping every NEWSBOT_HOUSEKEEPING_MINUTES, the first pass soon after start-up."""
    interval = settings.housekeeping_minutes * 60
    job_queue = application.job_queue
    assert job_queue is not None  # built with one in bot.tg.app.build_application
    job_queue.run_repeating(
        housekeeping, interval=interval, first=min(interval, FIRST_PASS_SECONDS), name="housekeeping"
    )
