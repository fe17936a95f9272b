"""Hostile input against the running bot: arbitrary Unicode, HTML- and Markdown-looking text, 4,096-character
messages, odd entity offsets, junk commands, forged button data and inline queries; then the corpus loader
and keyword subscriptions with pathological input.

Examples come from hypothesis strategies, drawn deterministically up front and driven through one running
bot per test (a running bot cannot live inside hypothesis' synchronous loop). Every reply must be accepted
by the stand-in's Telegram rules (HTML parser, 4,096 UTF-16 units, callback answers ≤ 200), no handler may
raise, and every input must be answered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.core.corpus import load_corpus
from bot.core.interests import (
    MAX_KEYWORD_TERMS,
    MAX_KEYWORDS_CHARS,
    KeywordError,
    parse_keywords,
)
from bot.standin import BotApiStandIn, Entity, Event, EventKind, utf16_len
from tests import reliability
from tests.harness import BOT_USERNAME, GROUP, OTHER, USER, BotUnderTest, running_bot

T = TypeVar("T")

NASTY = (
    "<script>alert(1)</script>",
    "</b>",
    "<b>",
    "<i><b>",
    '<a href="javascript:x">',
    "<tg-spoiler>",
    "<pre><code>",
    "&amp;",
    "&",
    "&#0;",
    "&lt;&gt;",
    "<",
    ">",
    "[x](y)",
    "*bold*",
    "_it_",
    "`code`",
    "```pre```",
    "||spoiler||",
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u200d",  # zero-width joiner
    "\u200b",  # zero-width space
    "\ufeff",
    "e\u0301\u0301\u0301",  # stacked combining accents
    "\u0301",
    "👩‍👩‍👧‍👦",
    "🇺🇦",
    "\U0001f600",
    "\U00010000",
    "\uffff",
    "\U0010ffff",
    "\x01",
    "\n",
    "\t",
    "Sora",
    "OpenAI",
    "MIIT standards",
    f"@{BOT_USERNAME}",
    "#tag",
    "https://example.org/?a=<b>&c=d",
)
UNICODE = st.characters(codec="utf-8")  # every code point but lone surrogates, which Telegram cannot carry
PIECE = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=UNICODE, max_size=30),
)


def fit(text: str, limit: int) -> str:
    """Cut text to at most `limit` UTF-16 units, never through a surrogate pair."""
    while utf16_len(text) > limit:
        text = text[: len(text) - max(1, (utf16_len(text) - limit) // 2)]
    return text


def long_message(seed: str) -> str:
    """A message of exactly (or, with astral characters, nearly) Telegram's 4,096 UTF-16 units."""
    return fit(seed * (4096 // max(1, utf16_len(seed)) + 1), 4096)


MESSAGE = st.one_of(
    st.lists(PIECE, min_size=1, max_size=40).map("".join),
    st.sampled_from(NASTY).map(long_message),
    st.text(alphabet=UNICODE, min_size=1, max_size=6).map(long_message),
).filter(lambda text: bool(text.strip()) and not text.lstrip().startswith("/"))
ARGUMENT = st.one_of(
    st.lists(PIECE, max_size=12).map("".join),
    st.sampled_from(NASTY).map(lambda seed: fit(seed * 700, 4000)),
)
COMMAND = st.sampled_from(
    (
        "search",
        "ask",
        "latest",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "related",
        "topics",
        "status",
        "start",
        "help",
        "reload",
        "stats",
    )
)
CALLBACK = st.one_of(
    st.tuples(st.sampled_from(("more:", "rel:", "ex:", "tsub:", "unsub:", "")), PIECE).map("".join),
    st.text(alphabet=st.characters(codec="ascii", min_codepoint=33), min_size=64, max_size=64),
    st.text(alphabet=UNICODE, min_size=1, max_size=64),
).filter(lambda data: 1 <= len(data.encode("utf-8")) <= 64)
INLINE = st.lists(PIECE, max_size=10).map(lambda parts: fit("".join(parts), 256))
ENTITY_TYPES = ("bold", "italic", "underline", "code", "mention", "hashtag", "spoiler", "text_link")


@st.composite
def group_message(draw: st.DrawFn) -> tuple[str, list[Entity]]:
    """A message addressed to the bot in a group, with entities at arbitrary (even mid-character) offsets."""
    text = fit(f"@{BOT_USERNAME} " + draw(st.lists(PIECE, min_size=1, max_size=20).map("".join)), 4096)
    size = utf16_len(text)
    entities = []
    for _ in range(draw(st.integers(0, 6))):
        offset = draw(st.integers(0, size - 1))
        length = draw(st.integers(1, size - offset))
        kind = draw(st.sampled_from(ENTITY_TYPES))
        url = "https://example.org/" if kind == "text_link" else None
        entities.append(Entity(kind, offset, length, url=url))
    return text, entities


def examples(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """`count` examples of a strategy, drawn deterministically (the same ones every run)."""
    found: list[T] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(value: T) -> None:
        found.append(value)

    collect()
    return found


# --------------------------------------------------------------------------- the bot under attack


class HandlerErrors(logging.Handler):
    """Counts what reaches the error handler (and any other ERROR the bot logs)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("bot"):
            self.records.append(record)


@dataclass
class Attack:
    """A running bot, what it has logged at ERROR, and how much of the request log has been checked."""

    bot: BotUnderTest
    errors: HandlerErrors
    tried: int = 0
    checked_seq: int = 0
    invalid: list[str] = field(default_factory=list)

    @property
    def standin(self) -> BotApiStandIn:
        return self.bot.standin

    def check_replies(self) -> None:
        """Every call since the last check was accepted; every message sent fits Telegram's limit."""
        for record in self.standin.requests():
            if record.seq <= self.checked_seq:
                continue
            self.checked_seq = record.seq
            if record.method.lower() != "getupdates" and record.status != 200:
                self.invalid.append(f"{record.method} → {record.status} {record.description}")
        for message in self.standin.world.sent_messages():
            if utf16_len(message.get("text", "")) > 4096:
                self.invalid.append(f"message {message['message_id']} is over 4096 UTF-16 units")

    def finish(self) -> None:
        """Record the figures, then assert nothing went wrong."""
        self.check_replies()
        exceptions = [record.getMessage()[:300] for record in self.errors.records]
        reliability.add("hostile inputs tried", self.tried)
        reliability.add("handler exceptions", len(exceptions))
        reliability.add("invalid replies", len(self.invalid))
        assert exceptions == []
        assert self.invalid == []


@pytest.fixture
async def attack(tmp_path: Path, standin: BotApiStandIn) -> AsyncIterator[Attack]:
    errors = HandlerErrors()
    logging.getLogger().addHandler(errors)
    try:
        async with running_bot(
            tmp_path, standin, questions_per_minute=1_000_000, push_default=False, corpus_poll_seconds=0
        ) as bot:
            yield Attack(bot, errors)
    finally:
        logging.getLogger().removeHandler(errors)


def count(request: pytest.FixtureRequest, default: int, long: int) -> int:
    return reliability.scaled(request.config, default, long)


def fresh_chats(standin: BotApiStandIn, first: int, how_many: int) -> Iterator[int]:
    for chat in range(first, first + how_many):
        standin.scenario.add_private_chat(chat, f"Tester {chat}")
        yield chat


async def test_hostile_messages_get_valid_replies(attack: Attack, request: pytest.FixtureRequest) -> None:
    texts = examples(MESSAGE, count(request, 120, 1_500))
    for chat, text in zip(fresh_chats(attack.standin, 20_000, len(texts)), texts, strict=True):
        try:
            replies = await attack.bot.ask(chat, chat, text, timeout=15)
        except TimeoutError:
            pytest.fail(f"no reply to {text[:200]!r}")
        attack.tried += 1
        assert replies[0]["text"], text[:200]
    attack.finish()


async def test_hostile_command_arguments_get_valid_replies(
    attack: Attack, request: pytest.FixtureRequest
) -> None:
    cases = examples(st.tuples(COMMAND, ARGUMENT), count(request, 100, 1_000))
    for chat, (command, argument) in zip(fresh_chats(attack.standin, 30_000, len(cases)), cases, strict=True):
        text = fit(f"/{command} {argument}", 4096)
        try:
            await attack.bot.ask(chat, chat, text, timeout=15)
        except TimeoutError:
            pytest.fail(f"no reply to {text[:200]!r}")
        attack.tried += 1
    attack.finish()


async def test_odd_entities_in_group_mentions_get_valid_replies(
    attack: Attack, request: pytest.FixtureRequest
) -> None:
    standin = attack.standin
    cases = examples(group_message(), count(request, 60, 600))
    for text, entities in cases:
        sent = standin.scenario.send_user_message(GROUP, USER, text, entities=entities)
        attack.tried += 1
        if not addresses_the_bot(sent):  # the entities hid the mention, as Telegram's would: chatter
            continue
        try:
            await standin.wait_for(
                replies_to(sent["message_id"]),
                chat_id=GROUP,
                timeout=15,
            )
        except TimeoutError:
            pytest.fail(f"no reply to {text[:200]!r} with {entities}")
    await attack.bot.ask(GROUP, USER, f"@{BOT_USERNAME} Sora")  # the last chatter has been handled too
    attack.finish()


def replies_to(message_id: int) -> Callable[[Event], bool]:
    """A wait_for predicate: the bot's message that replies to this one."""
    return lambda event: event.data.get("reply_to_message", {}).get("message_id") == message_id


def addresses_the_bot(message: dict[str, Any]) -> bool:
    """Whether a group message carries a mention entity of the bot (so the bot must answer it)."""
    encoded = message["text"].encode("utf-16-le")
    return any(
        entity["type"] == "mention"
        and encoded[entity["offset"] * 2 : (entity["offset"] + entity["length"]) * 2]
        .decode("utf-16-le", "replace")
        .casefold()
        == f"@{BOT_USERNAME}"
        for entity in message.get("entities", [])
    )


async def test_forged_callback_data_is_answered_politely(
    attack: Attack, request: pytest.FixtureRequest
) -> None:
    [welcome] = await attack.bot.ask(USER, USER, "/start")
    datas = examples(CALLBACK, count(request, 120, 1_200))
    for data in datas:
        mark = attack.standin.world.mark()
        attack.standin.scenario.click(USER, USER, welcome["message_id"], data)
        try:
            [answer] = await attack.standin.wait_for(kind=EventKind.CALLBACK_ANSWER, after=mark, timeout=15)
        except TimeoutError:
            pytest.fail(f"button data {data!r} was never answered")
        attack.tried += 1
        if not re.fullmatch(r"ex:0*[0-2]", data):  # a real example button: answered, then a question
            assert answer.data.get("text"), data
    attack.finish()


async def test_hostile_inline_queries_get_valid_answers(
    attack: Attack, request: pytest.FixtureRequest
) -> None:
    queries = examples(INLINE, count(request, 100, 1_000))
    for query in queries:
        mark = attack.standin.world.mark()
        attack.standin.scenario.inline_query(OTHER, query)
        try:
            await attack.standin.wait_for(kind=EventKind.INLINE_ANSWER, after=mark, timeout=15)
        except TimeoutError:
            pytest.fail(f"inline query {query!r} was never answered")
        attack.tried += 1
    attack.finish()


# --------------------------------------------------------------------------- forged and stale buttons


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["text"]: button.get("callback_data", "") for row in rows for button in row}


async def test_buttons_of_another_chat_reveal_and_change_nothing(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    # With the relevance rule off, the four bundled stories give a second page and its button.
    async with running_bot(tmp_path, standin, push_default=False, min_relevance=0) as newsbot:
        await _another_chat_s_buttons_change_nothing(newsbot)


async def _another_chat_s_buttons_change_nothing(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    [answer] = await newsbot.ask(USER, USER, "OpenAI AI models video standards")
    more = buttons(answer)["More results ›"]
    await newsbot.ask(OTHER, OTHER, "/subscribe openai")
    [listing] = await newsbot.ask(OTHER, OTHER, "/subscriptions")
    [remove] = buttons(listing).values()
    [mine] = await newsbot.ask(USER, USER, "/start")
    [theirs] = await newsbot.ask(OTHER, OTHER, "/start")
    stored_id, _, offset = more.removeprefix("more:").partition(":")
    forged = [
        (OTHER, theirs, more),  # another chat's pagination id
        (USER, mine, remove),  # another chat's subscription id
        (USER, mine, f"more:{stored_id}:{int(offset) + 300}"),
        (USER, mine, f"more:{stored_id}:-3"),
        (USER, mine, f"more:{stored_id}"),
        (USER, mine, "more::3"),
        (USER, mine, "tsub:no-such-topic"),
        (USER, mine, "unsub:0"),
        (USER, mine, "unsub:-1"),
        (USER, mine, "unsub:" + "9" * 40),
        (USER, mine, "rel:" + "A" * 60),
        (USER, mine, "ex:-1"),
        (USER, mine, "ex:99"),
        (USER, mine, ":"),
        (USER, mine, "x" * 64),
    ]
    mark = standin.world.mark()
    refusals = []
    for chat, message, data in forged:
        answers = await newsbot.click(chat, chat, message, data, count=0)
        refusals.append(answers[-1].data.get("text") or "")
    [help_reply] = await newsbot.ask(USER, USER, "/help")  # whatever the buttons caused has arrived
    sent = standin.world.events(EventKind.SENT, after=mark)
    [still] = await newsbot.ask(OTHER, OTHER, "/subscriptions")
    reliability.add("forged callbacks refused", len(forged))
    assert all(text and len(text) <= 200 for text in refusals), refusals
    assert "expired" in refusals[0] and "no longer exists" in refusals[1]
    assert [event.message_id for event in sent] == [help_reply["message_id"]]  # nothing else was sent
    assert "OpenAI" in still["text"]  # the forged remove button removed nothing


# --------------------------------------------------------------------------- corpus loader


FRONT_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.lists(st.text(max_size=10), max_size=4),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.sampled_from(
        (
            "2026-02-30",
            "2026-03-24T25:00:00",
            "yesterday",
            "[unclosed",
            "*alias",
            "&anchor x",
            "!!python/object:os.system",
        )
    ),
)
FIELDS = st.sampled_from(("title", "published", "source", "url", "topics", "tags", "id", "body", "junk"))


@st.composite
def front_matter_file(draw: st.DrawFn) -> bytes:
    lines = [f"{draw(FIELDS)}: {draw(FRONT_VALUE)!s}" for _ in range(draw(st.integers(0, 6)))]
    fence = draw(st.sampled_from(("---", "---", "+++", "--- ", "")))
    body = draw(st.lists(PIECE, max_size=8).map("".join))
    return (f"{fence}\n" + "\n".join(lines) + f"\n{fence}\n\n{body}\n").encode()


@st.composite
def jsonl_file(draw: st.DrawFn) -> bytes:
    import json

    rows = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            row = {draw(FIELDS): draw(FRONT_VALUE) for _ in range(draw(st.integers(0, 5)))}
            rows.append(json.dumps(row, default=str))
        else:
            rows.append(
                draw(st.sampled_from(("{", "[]", "null", '"x"', '{"title": 1}', "", "\x00", "{}" * 3)))
            )
    return "\n".join(rows).encode()


@st.composite
def feed_file(draw: st.DrawFn) -> bytes:
    entries = "".join(
        "<item>"
        + "".join(
            f"<{tag}>{draw(st.sampled_from(NASTY))}{draw(st.text(max_size=10))}</{tag}>"
            for tag in draw(
                st.lists(st.sampled_from(("title", "link", "guid", "pubDate", "description")), max_size=5)
            )
        )
        + "</item>"
        for _ in range(draw(st.integers(0, 4)))
    )
    closing = draw(st.sampled_from(("</channel></rss>", "", "</rss>")))
    text = f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{entries}{closing}'
    return text.encode("utf-8", "replace")


CORPUS_FILE = st.one_of(
    st.tuples(st.just("md"), front_matter_file()),
    st.tuples(st.just("jsonl"), jsonl_file()),
    st.tuples(st.just("xml"), feed_file()),
    st.tuples(
        st.just("txt"), st.lists(PIECE, max_size=10).map(lambda p: "".join(p).encode("utf-8", "replace"))
    ),
    st.tuples(st.sampled_from(("md", "txt", "jsonl", "rss")), st.binary(max_size=200)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(CORPUS_FILE, min_size=1, max_size=6))
def test_loader_turns_every_bad_file_into_a_problem_with_a_reason(
    tmp_path_factory: pytest.TempPathFactory, files: list[tuple[str, bytes]]
) -> None:
    corpus = tmp_path_factory.mktemp("fuzzed")
    for number, (suffix, data) in enumerate(files):
        (corpus / f"file-{number}.{suffix}").write_bytes(data)
    loaded = load_corpus(corpus)
    reliability.add("corpus files fuzzed", len(files))
    for problem in loaded.problems:
        assert problem.reason.strip() and problem.path.startswith("file-")
    by_file = {article.path for article in loaded.articles} | {p.path for p in loaded.problems}
    for number, (suffix, _) in enumerate(files):
        # Each file gave articles or at least one problem: nothing vanishes without a word.
        assert f"file-{number}.{suffix}" in by_file
    for article in loaded.articles:
        assert article.title.strip() and article.body.strip()


# --------------------------------------------------------------------------- keyword subscriptions


KEYWORDS = st.one_of(
    st.lists(PIECE, max_size=30).map("".join),
    st.sampled_from(("(a+)+$", ".*.*.*.*=", "[^]*", "\\", '"' * 50, "-" * 80, "a|b|c", "((((((((x))))))))")),
    st.lists(st.sampled_from(("word", '"a phrase"', "-not", '-"not this"', "*", "?")), max_size=40).map(
        " ".join
    ),
)


@settings(max_examples=300, deadline=None)
@given(text=KEYWORDS)
def test_keyword_subscriptions_are_bounded_and_never_patterns(text: str) -> None:
    """No user text ever becomes a regular expression; accepted queries stay within the term and length
    bounds that cap the work per new article; everything else is a KeywordError with a reason."""
    try:
        query = parse_keywords(text)
    except KeywordError as error:
        assert str(error).strip()
        return
    assert len(text) <= MAX_KEYWORDS_CHARS
    phrases = (*query.required, *query.excluded)
    assert query.required and sum(len(phrase) for phrase in phrases) <= MAX_KEYWORD_TERMS
    for phrase in phrases:
        assert isinstance(phrase, tuple)
        for term in phrase:
            assert isinstance(term, str) and term and not any(ch.isspace() for ch in term)
    # Matching is plain comparison of analysed terms: a document of exactly the required phrases matches.
    if not query.excluded:
        assert query.matches([term for phrase in query.required for term in phrase])


def test_no_regular_expression_is_built_from_user_text() -> None:
    """Structural: no regular expression in the modules that handle user text is built from a function's
    arguments, so no user text can become a pattern (patterns are module constants)."""
    import ast

    root = Path(__file__).resolve().parents[1] / "bot"
    checked = 0
    handlers = ("answers", "subscriptions", "pushes")
    modules = (
        "core/topics.py",
        "core/interests.py",
        "core/text.py",
        *(f"tg/handlers/{n}.py" for n in handlers),
    )
    for module in modules:
        tree = ast.parse((root / module).read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = {
                argument.arg for argument in ast.walk(function.args) if isinstance(argument, ast.arg)
            }
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.args
                ):
                    used = {name.id for name in ast.walk(node.args[0]) if isinstance(name, ast.Name)}
                    assert not used & arguments, f"{module}:{node.lineno} builds a pattern from {used}"
                    checked += 1
    assert checked  # the check looked at something


def test_keyword_limits_are_enforced() -> None:
    with pytest.raises(KeywordError, match=str(MAX_KEYWORDS_CHARS)):
        parse_keywords("word " * (MAX_KEYWORDS_CHARS // 5 + 1))
    with pytest.raises(KeywordError, match=str(MAX_KEYWORD_TERMS)):
        parse_keywords(" ".join(f"w{n}" for n in range(MAX_KEYWORD_TERMS + 1)))
    with pytest.raises(KeywordError):
        parse_keywords('"" - -"" ...')
