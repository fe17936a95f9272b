"""Handlers for what every user gets: questions, /start, /help, /search, /latest, /status, the answer
buttons (More results, Related, example questions) and inline mode.

Thin translators: parse the update, ask the library or the store, render (bot.render), reply. No HTML and
no SQL here; per-user limits and the related-story pusher come from the typed context.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError

from bot.commands import COMMANDS, command
from bot.core.library import MATCH_COUNT_CAP, Library, article_token
from bot.core.models import Hit
from bot.core.related import related_to_article
from bot.core.stories import collapse
from bot.render import messages
from bot.render.buttons import Keyboard
from bot.render.sources import sources_line
from bot.store import StoreError
from bot.tg.context import NewsbotContext
from bot.tg.ratelimit import Verdict
from bot.tg.sending import NO_PREVIEW, send_html, thread_of
from bot.tg.work import OverBudget

log = logging.getLogger(__name__)

PAGE_SIZE = 3
INLINE_RESULTS = 10
INLINE_CACHE_SECONDS = 30
# Results fetched per page, so that a page still fills once reports of one story are collapsed into one.
FETCHED_PER_PAGE = 2 * PAGE_SIZE
MAX_OFFSET = 300  # "More results" pages beyond this are not worth a round trip
MAX_QUESTION_CHARS = 500  # longer texts are trimmed before searching: nobody's question is an essay


def example_questions(library: Library) -> list[str]:
    """Two or three questions the archive can answer, from its best-covered topics."""
    covered = sorted(
        ((count, topic) for topic, count in library.topic_counts() if count),
        key=lambda pair: (-pair[0], pair[1].slug),
    )
    questions = [messages.example_question(topic.name) for _, topic in covered[:3]]
    if not questions and library.articles:
        questions = [library.latest(limit=1)[0].title]
    return questions


@dataclass(frozen=True, slots=True)
class AnswerSent:
    """What an answer showed, so a follow-up (e.g. a related-story push) can avoid repeating it."""

    article_ids: tuple[str, ...]
    message: Message | None
    refused: bool = False  # the user asked too fast: nothing more is done for this message


# ----------------------------------------------------------------------------------- commands


async def start(update: Update, context: NewsbotContext) -> None:
    """/start: what the bot knows, with example questions as buttons."""
    message = update.effective_message
    if message is None:
        return
    if update.effective_chat is not None:
        await context.remember_chat(update.effective_chat)
    library = context.runtime.library
    examples = example_questions(library)
    keyboard = messages.example_keyboard(
        [(question, f"ex:{number}") for number, question in enumerate(examples)]
    )
    await send_html(
        context.bot,
        message.chat_id,
        messages.welcome(library.article_count, [topic.name for topic in library.topics]),
        keyboard=keyboard,
        thread_id=thread_of(message),
    )


async def show_help(update: Update, context: NewsbotContext) -> None:
    """/help: every command with an example (admins also see theirs)."""
    message = update.effective_message
    if message is None:
        return
    user = update.effective_user
    is_admin = context.runtime.is_admin(user.id if user else None)
    await send_html(
        context.bot,
        message.chat_id,
        messages.help_text(COMMANDS, is_admin=is_admin),
        thread_id=thread_of(message),
    )


async def search(update: Update, context: NewsbotContext) -> None:
    """/search QUERY and /ask QUESTION."""
    message = update.effective_message
    if message is None:
        return
    question = " ".join(context.args or []).strip()
    if not question:
        await send_html(
            context.bot,
            message.chat_id,
            messages.usage(command("search")),
            reply_to=message.message_id,
            thread_id=thread_of(message),
        )
        return
    await answer(message, question, context)


async def latest(update: Update, context: NewsbotContext) -> None:
    """/latest [TOPIC]: the newest articles, optionally of one topic."""
    message = update.effective_message
    if message is None:
        return
    library = context.runtime.library
    wanted = " ".join(context.args or []).strip()
    topic = library.matcher.find(wanted) if wanted else None
    if wanted and topic is None:
        html = messages.unknown_topic(wanted)
    else:
        articles = library.latest(topic.slug if topic else None, limit=5)
        html = messages.latest(topic.name if topic else None, articles)
    await send_html(context.bot, message.chat_id, html, thread_id=thread_of(message))


async def status(update: Update, context: NewsbotContext) -> None:
    """/status: archive size, last load, whether alerts are flowing."""
    message = update.effective_message
    if message is None:
        return
    library = context.runtime.library
    counts = await context.runtime.store.alert_counts()
    last_delivery = await context.runtime.store.last_delivery_at()
    chat_alert = await context.runtime.store.chat_last_alert_at(message.chat_id)
    fetched = await context.runtime.store.sources.counts()
    html = messages.status(
        articles=library.article_count,
        topics=len(library.topics),
        loaded_at=library.loaded_at,
        reloading=context.runtime.reloading,
        pending_alerts=counts.get("pending", 0),
        last_delivery=last_delivery,
        last_alert_here=chat_alert,
        extra=(
            ("Sources", sources_line(fetched.sources, fetched.ok, fetched.failing, fetched.paused)),
            ("Last fetched article", messages.format_moment(fetched.last_new_at)),
        ),
    )
    await send_html(context.bot, message.chat_id, html, thread_id=thread_of(message))


# ----------------------------------------------------------------------------------- questions


async def text(update: Update, context: NewsbotContext) -> None:
    """Plain text: a question in private chats; in groups only when addressed to the bot."""
    message = update.effective_message
    if message is None or not message.text:
        return
    question = addressed_question(message, context)
    shown: tuple[str, ...] = ()
    if question is not None:
        sent = await answer(message, question, context)
        if sent.refused:
            return  # refused cheaply: no analysis for a push either
        shown = sent.article_ids
    # Below the answer (or in reply to group chatter): stories for a topic the message mentions.
    await context.bot_data.pusher.maybe_push(message, context.bot, shown=shown)


def addressed_question(message: Message, context: NewsbotContext) -> str | None:
    """The question in a message meant for the bot, or None for group chatter not addressed to it."""
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    username = (context.bot.username or context.bot_data.bot_username).casefold()
    mention = f"@{username}"
    mentioned = any(
        entity.type == MessageEntity.MENTION and _entity_text(text, entity).casefold() == mention
        for entity in message.entities
    )
    replied = message.reply_to_message
    to_bot = replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id
    if not (mentioned or to_bot):
        return None
    if mentioned:
        # Remove the mention itself, whatever its case, so it is not part of the query.
        spans = [
            (entity.offset, entity.length)
            for entity in message.entities
            if entity.type == MessageEntity.MENTION and _entity_text(text, entity).casefold() == mention
        ]
        text = _remove_utf16_ranges(text, spans)
    return text


async def answer(message: Message, question: str, context: NewsbotContext) -> AnswerSent:
    """Search the archive and reply with the top articles, buttons and a log entry."""
    verdict = await context.bot_data.questions.decide(message.from_user.id if message.from_user else None)
    if verdict != Verdict.ANSWER:
        if verdict == Verdict.SLOW_DOWN:
            await slow_down(message, context)
        return AnswerSent((), None, refused=True)
    context.bot_data.answers_in_flight += 1  # chat answers take priority over alerts
    try:
        return await _answer(message, question, context)
    finally:
        context.bot_data.answers_in_flight -= 1


async def slow_down(message: Message, context: NewsbotContext) -> None:
    """Tell someone asking faster than the limits allow to slow down (in a group, replying to them)."""
    await send_html(
        context.bot,
        message.chat_id,
        messages.SLOW_DOWN,
        reply_to=message.message_id if message.chat.type != ChatType.PRIVATE else None,
        thread_id=thread_of(message),
    )


async def _answer(message: Message, question: str, context: NewsbotContext) -> AnswerSent:
    started = time.perf_counter()
    chat = message.chat
    thread = thread_of(message)
    # "typing…" only when an answer is slow enough to be seen waiting: for an instant answer it
    # would cost a request (and the CPU for it) for nothing. The chat row is touched by app.remember_chat.
    delay = context.runtime.settings.typing_after_seconds
    typing: asyncio.Task[None] | None = None
    if delay <= 0:
        await _show_typing(context, chat.id, thread)
    else:
        typing = asyncio.create_task(_typing_after(delay, context, chat.id, thread))
    try:
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        library = context.runtime.library  # one snapshot for the whole answer, even if a reload swaps
        asker = message.from_user.id if message.from_user else None
        try:
            result = await context.bot_data.work.run(
                asker, partial(library.search, question, limit=FETCHED_PER_PAGE)
            )
        except OverBudget:
            assert asker is not None  # work on nobody's behalf has no budget to run out of
            if await context.bot_data.questions.decline(asker) == Verdict.SLOW_DOWN:
                await slow_down(message, context)
            return AnswerSent((), None, refused=True)
        keyboard: Keyboard | None = None
        hits, used = _one_per_story(context, result.hits)
        if hits:
            more = None
            if result.total > used:
                query_id = await _save_query(context, chat.id, question)
                more = f"more:{query_id}:{used}" if query_id else None
            keyboard = messages.answer_keyboard(_related_buttons(hits, 1), more)
            html = messages.answer(
                question,
                hits,
                total=result.total,
                at_least=result.total >= MATCH_COUNT_CAP,
                also=[_other_sources(context, hit.article.id) for hit in hits],
                unknown=result.unknown,
                stand_ins=result.stand_ins,
            )
        else:
            html = messages.no_match(question, hint=result.hint, unknown=result.unknown)
        group = chat.type != ChatType.PRIVATE
        sent = await send_html(
            context.bot,
            chat.id,
            html,
            keyboard=keyboard,
            reply_to=message.message_id if group else None,
            thread_id=thread,
        )
        context.bot_data.metrics.answered(time.perf_counter() - started)
        try:
            await context.runtime.store.log_question(
                chat.id,
                len(hits),
                (time.perf_counter() - started) * 1000,
                question if context.runtime.settings.log_questions else None,
            )
        except StoreError as error:  # the answer is out; only the statistics miss it
            log.warning("could not log a question of chat %s: %s", chat.id, error)
    finally:
        if typing is not None:
            typing.cancel()
    return AnswerSent(tuple(hit.article.id for hit in hits), sent[-1] if sent else None)


def _one_per_story(context: NewsbotContext, hits: Sequence[Hit]) -> tuple[tuple[Hit, ...], int]:
    """A page of results with each story once (at its best-ranked report), and how many hits it used."""
    stories = context.runtime.stories
    kept, used = collapse(hits, lambda hit: stories.story_of(hit.article.id), PAGE_SIZE)
    return tuple(kept), used


def _other_sources(context: NewsbotContext, article_id: str) -> int:
    """How many other sources reported an article's story (other reports, when they name no source)."""
    story = context.runtime.story_of_article(article_id)
    if story is None:
        return 0
    return len(story.others(article_id)) or len(story.members) - 1


async def _save_query(context: NewsbotContext, chat_id: int, question: str) -> str | None:
    """Keep a question for its "More results" button, for NEWSBOT_MORE_RESULTS_HOURS (the only place its
    text is kept unless the operator logs questions); None (no button) if the database refuses."""
    ttl = timedelta(hours=context.runtime.settings.more_results_hours)
    try:
        return await context.runtime.store.save_query(chat_id, question, ttl=ttl)
    except StoreError as error:
        log.warning("could not save a question for More results in chat %s: %s", chat_id, error)
        return None


# ----------------------------------------------------------------------------------- buttons


async def button(update: Update, context: NewsbotContext) -> None:
    """Answer buttons: more:QUERY_ID:OFFSET, rel:TOKEN, ex:N; anything else is refused politely."""
    query = update.callback_query
    if query is None:
        return
    data = query.data or ""
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(messages.BUTTON_GONE)
        return
    kind, _, rest = data.partition(":")
    if kind == "more":
        await _more(query.id, message, rest, context)
    elif kind == "rel":
        await _related(query.id, message, rest, context)
    elif kind == "ex":
        await _example(query.id, message, rest, context)
    else:
        await context.bot.answer_callback_query(query.id, messages.BUTTON_INVALID)


async def _more(query_id: str, message: Message, rest: str, context: NewsbotContext) -> None:
    stored_id, _, offset_text = rest.partition(":")
    offset = int(offset_text) if offset_text.isdigit() and len(offset_text) <= 4 else -1
    question = await context.runtime.store.load_query(stored_id, message.chat_id) if offset > 0 else None
    if question is None or offset > MAX_OFFSET:
        await context.bot.answer_callback_query(query_id, messages.RESULTS_EXPIRED)
        return
    library = context.runtime.library
    try:
        result = await context.bot_data.work.run(
            message.chat_id, partial(library.search, question, limit=FETCHED_PER_PAGE, offset=offset)
        )
    except OverBudget:
        await context.bot.answer_callback_query(query_id, messages.SLOW_DOWN)
        return
    await context.bot.answer_callback_query(query_id)
    hits, used = _one_per_story(context, result.hits)
    if not hits:
        await send_html(context.bot, message.chat_id, messages.NO_MORE_RESULTS, thread_id=thread_of(message))
        return
    following = offset + used
    more = f"more:{stored_id}:{following}" if result.total > following and following <= MAX_OFFSET else None
    keyboard = messages.answer_keyboard(_related_buttons(hits, offset + 1), more)
    html = messages.answer(
        question,
        hits,
        offset=offset,
        total=result.total,
        at_least=result.total >= MATCH_COUNT_CAP,
        also=[_other_sources(context, hit.article.id) for hit in hits],
        unknown=result.unknown,
        stand_ins=result.stand_ins,
    )
    await send_html(context.bot, message.chat_id, html, keyboard=keyboard, thread_id=thread_of(message))


async def _related(query_id: str, message: Message, token: str, context: NewsbotContext) -> None:
    library = context.runtime.library
    article = library.by_token(token)
    if article is None:
        await context.bot.answer_callback_query(query_id, messages.ARTICLE_GONE)
        return
    try:
        found = await context.bot_data.work.run(
            message.chat_id, partial(related_to_article, library, article.id, limit=FETCHED_PER_PAGE)
        )
    except OverBudget:
        await context.bot.answer_callback_query(query_id, messages.SLOW_DOWN)
        return
    await context.bot.answer_callback_query(query_id)
    # Other reports of the article's own story are the same event, not a related one.
    own = context.runtime.stories.story_of(article.id)
    others = [hit for hit in found if own is None or context.runtime.stories.story_of(hit.article.id) != own]
    hits, _ = _one_per_story(context, others)
    html = messages.related(
        article.title,
        [hit.article for hit in hits],
        [_other_sources(context, hit.article.id) for hit in hits],
    )
    await send_html(context.bot, message.chat_id, html, thread_id=thread_of(message))


async def _example(query_id: str, message: Message, rest: str, context: NewsbotContext) -> None:
    examples = example_questions(context.runtime.library)
    number = int(rest) if rest.isdigit() and len(rest) <= 2 else -1
    if not 0 <= number < len(examples):
        await context.bot.answer_callback_query(query_id, messages.BUTTON_INVALID)
        return
    await context.bot.answer_callback_query(query_id)
    await answer(message, examples[number], context)


# ----------------------------------------------------------------------------------- inline mode


async def inline(update: Update, context: NewsbotContext) -> None:
    """Inline mode: up to 10 cited articles for the query, or the latest articles for an empty one."""
    inline_query = update.inline_query
    if inline_query is None:
        return
    library = context.runtime.library
    text = " ".join(inline_query.query.split())[:MAX_QUESTION_CHARS]
    if await context.bot_data.inline_questions.decide(inline_query.from_user.id) != Verdict.ANSWER:
        await inline_query.answer([], cache_time=INLINE_CACHE_SECONDS, is_personal=True)
        return
    if text:
        try:
            found = await context.bot_data.work.run(
                inline_query.from_user.id, partial(library.search, text, limit=INLINE_RESULTS)
            )
        except OverBudget:
            await inline_query.answer([], cache_time=INLINE_CACHE_SECONDS, is_personal=True)
            return
        hits: list[Hit] | tuple[Hit, ...] = found.hits
    else:
        hits = [
            library.lead_hit(position)
            for article in library.latest(limit=INLINE_RESULTS)
            if (position := library.position(article.id)) is not None
        ]
    results = [
        InlineQueryResultArticle(
            id=article_token(hit.article.id),
            title=messages.shorten(hit.article.title, 200),
            description=messages.shorten(hit.snippet.text, 200),
            input_message_content=InputTextMessageContent(
                messages.citation(hit.article, snippet=hit.snippet),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
            ),
        )
        for hit in hits
    ]
    await inline_query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=False)


# ----------------------------------------------------------------------------------- helpers


async def _typing_after(delay: float, context: NewsbotContext, chat_id: int, thread: int | None) -> None:
    await asyncio.sleep(delay)
    await _show_typing(context, chat_id, thread)


async def _show_typing(context: NewsbotContext, chat_id: int, thread: int | None) -> None:
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread)
    except TelegramError as error:  # a lost "typing…" is not worth failing an answer for
        log.debug("could not show typing in chat %s: %s", chat_id, error)


def _related_buttons(hits: Sequence[Hit], first_number: int) -> list[tuple[int, str]]:
    return [(number, f"rel:{article_token(hit.article.id)}") for number, hit in enumerate(hits, first_number)]


def _entity_text(text: str, entity: MessageEntity) -> str:
    """The text an entity covers; unlike PTB's parse_entity, an offset inside a surrogate pair (a client
    can send one) gives replacement characters instead of UnicodeDecodeError."""
    encoded = text.encode("utf-16-le")
    return encoded[entity.offset * 2 : (entity.offset + entity.length) * 2].decode("utf-16-le", "replace")


def _remove_utf16_ranges(text: str, spans: list[tuple[int, int]]) -> str:
    """Remove spans given in UTF-16 code units (Telegram's entity offsets, all of the original text)."""
    encoded = text.encode("utf-16-le")
    for offset, length in sorted(spans, reverse=True):
        encoded = encoded[: offset * 2] + encoded[(offset + length) * 2 :]
    return " ".join(encoded.decode("utf-16-le", errors="ignore").split())
