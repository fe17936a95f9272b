"""/brief TOPIC|WORDS [24h|7d]: the period's top stories on a topic or words, in sentences quoted from the
articles (bot.core.briefs makes it, bot.render.briefs words it).

A thin translator: parse the arguments, make the brief in a worker thread on the asker's share of the
workers (as searches are), render, reply. No HTML and no SQL here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from telegram import Update
from telegram.constants import ChatType

from bot.commands import command
from bot.core.briefs import briefing, parse_request
from bot.render import messages
from bot.render.briefs import brief_message
from bot.tg.context import NewsbotContext
from bot.tg.handlers.answers import slow_down
from bot.tg.ratelimit import Verdict
from bot.tg.sending import send_html, thread_of
from bot.tg.work import OverBudget

MAX_SUBJECT_CHARS = 200  # a topic or a few words; anything longer is trimmed before the work


async def brief(update: Update, context: NewsbotContext) -> None:
    """/brief TOPIC|WORDS [24h|7d]; no subject or a period not offered gets the usage line."""
    message = update.effective_message
    if message is None:
        return
    group = message.chat.type != ChatType.PRIVATE
    reply_to = message.message_id if group else None
    request = parse_request(context.args or [])
    if request is None:
        await send_html(
            context.bot,
            message.chat_id,
            messages.usage(command("brief")),
            reply_to=message.message_id,
            thread_id=thread_of(message),
        )
        return
    subject, period = request
    asker = message.from_user.id if message.from_user else None
    questions = context.bot_data.questions
    verdict = await questions.decide(asker)
    if verdict != Verdict.ANSWER:
        if verdict == Verdict.SLOW_DOWN:
            await slow_down(message, context)
        return
    runtime = context.runtime
    library = runtime.library  # one view for the whole brief, even if a reload swaps
    context.bot_data.answers_in_flight += 1  # like an answer, it goes before alerts
    try:
        try:
            found = await context.bot_data.work.run(
                asker,
                partial(
                    briefing,
                    library,
                    subject[:MAX_SUBJECT_CHARS],
                    now=datetime.now(UTC),
                    period=period,
                    stories=runtime.stories,
                ),
            )
        except OverBudget:
            assert asker is not None  # work on nobody's behalf has no budget to run out of
            if await questions.decline(asker) == Verdict.SLOW_DOWN:
                await slow_down(message, context)
            return
        await send_html(
            context.bot,
            message.chat_id,
            brief_message(found),
            reply_to=reply_to,
            thread_id=thread_of(message),
        )
    finally:
        context.bot_data.answers_in_flight -= 1
