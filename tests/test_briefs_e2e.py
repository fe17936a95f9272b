"""/brief end to end against the Bot API stand-in, on a corpus written here with dates counted back from now:
every quoted sentence of the reply is a sentence of an article of the period, followed by a link to that
very article; the event two sources carried is one story, its shared sentence quoted once; an empty period
says so and points to the week; a bad period gets the usage line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.standin import BotApiStandIn, EventKind
from tests.harness import GROUP, OTHER, USER, BotUnderTest, running_bot

TOPICS = """topics:
  - slug: ferries
    name: Ferries
    description: Ferry services on the coast.
    aliases: [ferry, ferries, Kestrel Bay]
"""

SHARED = "The Kestrel Bay ferry crews walked out at dawn on Thursday over a dispute about night shifts."
# Background two different stories carry word for word: quoted for the first of them, never again.
BACKGROUND = "Kestrel Bay ferries carried more than a million passengers last year, the port authority said."
STRIKE = (
    f"{SHARED} About four thousand passengers were stranded at the harbour, and the operator cancelled "
    "every crossing until Friday evening. The union said the new rota would add two night shifts a week "
    "for each crew member without extra pay.\n\n"
    "Talks between the operator and the union are due to resume at the port offices on Saturday morning."
)
STRIKE_AGAIN = (  # another outlet's rewrite: the opening sentence kept word for word
    f"{SHARED} The operator said every crossing was cancelled until Friday evening, leaving about four "
    "thousand passengers stranded at the harbour. Union officials said the new rota asked crews for two "
    "more night shifts a week without extra pay.\n\n"
    "Both sides have agreed to meet again at the port offices on Saturday morning, a spokesman said."
)
ROUTE = (
    "A new ferry route from Kestrel Bay to the Skerry Islands will open in June, the council announced. "
    "The crossing will take ninety minutes and run twice a day through the summer months. "
    f"Islanders have asked for a direct service for more than a decade, the council leader said. {BACKGROUND}"
)
TIMETABLE = (
    "The winter ferry timetable for Kestrel Bay cuts the last evening sailing from the island route. "
    "Operators blamed rising fuel costs and fewer passengers in the dark months of the year. "
    f"The change takes effect from the first week of November. {BACKGROUND}"
)
OLD = (
    "The Kestrel Bay ferry terminal was repainted in bright blue after a public vote last spring. "
    "Residents chose the colour from five designs put forward by local art students."
)
FILLER = [
    ("Library opens late", "The town library will stay open until nine on Fridays from May, staff said."),
    ("Bus fares frozen", "Bus fares in the county will not rise this year, the transport board said today."),
    ("New head for Hill School", "Hill School has named Ada Brook as its new head teacher from September."),
    (
        "Storm closes coast road",
        "High winds closed the coast road for six hours on Sunday night, police said.",
    ),
    ("Market moves", "The Saturday market will move to the square while the old hall is repainted."),
]


def write_corpus(corpus: Path, now: datetime) -> dict[str, tuple[str, str, datetime]]:
    """The test's own corpus (topics and dated articles); id → (body, url, published) of each article."""
    corpus.mkdir(parents=True)
    (corpus / "topics.yaml").write_text(TOPICS)
    articles = {}

    def write(slug: str, title: str, body: str, source: str, hours_ago: float) -> None:
        published = (now - timedelta(hours=hours_ago)).replace(microsecond=0)
        url = f"https://{source.lower().replace(' ', '-')}.example/{slug}"
        (corpus / f"{slug}.md").write_text(
            f"---\nid: {slug}\ntitle: {title}\nsource: {source}\nurl: {url}\n"
            f"published: {published.isoformat()}\n---\n\n{body}\n"
        )
        articles[slug] = (body, url, published)

    write("strike-wire", "Kestrel Bay ferry crews strike", STRIKE, "Coast Wire", 3)
    write("strike-gazette", "Ferry strike strands thousands", STRIKE_AGAIN, "Harbour Gazette", 2)
    write("new-route", "New ferry route to the Skerry Islands", ROUTE, "Coast Wire", 5)
    write("timetable", "Winter ferry timetable cuts late sailing", TIMETABLE, "Island Post", 72)
    write("old-paint", "Ferry terminal repainted", OLD, "Island Post", 240)
    for number, (title, body) in enumerate(FILLER):
        write(f"filler-{number}", title, body, "Town Crier", 6 + number)
    return articles


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The text an entity covers (offsets in UTF-16 code units, as Telegram gives them)."""
    encoded = text.encode("utf-16-le")
    start = entity["offset"] * 2
    return encoded[start : start + entity["length"] * 2].decode("utf-16-le")


def quotes_and_links(message: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Each blockquote of a message with the link that follows it (its attribution), in order."""
    entities = sorted(message.get("entities", []), key=lambda e: e["offset"])
    found = []
    for number, entity in enumerate(entities):
        if entity["type"] != "blockquote":
            continue
        after = (e for e in entities[number + 1 :] if e["type"] in ("text_link", "blockquote"))
        following = next(after, None)
        url = following["url"] if following is not None and following["type"] == "text_link" else None
        found.append((entity_text(message["text"], entity), url))
    return found


async def brief_replies(bot: BotUnderTest, chat_id: int, text: str, user: int = USER) -> list[dict[str, Any]]:
    """Send a /brief and return every message the bot sent back for it (a long brief is split)."""
    mark = bot.standin.world.mark()
    await bot.ask(chat_id, user, text)
    await bot.settled()
    events = bot.standin.world.events(EventKind.SENT, chat_id=chat_id, after=mark)
    return [bot.standin.world.message(chat_id, event.message_id or 0) for event in events]


async def stories_known(bot: BotUnderTest, ids: list[str]) -> None:
    """Wait until the start-up ingest has put the corpus into the bot's story index."""
    for _ in range(200):
        if all(bot.services.runtime.stories.story_of(i) is not None for i in ids):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the articles never reached the story index")


async def test_brief_quotes_only_sentences_of_the_periods_articles(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    now = datetime.now(UTC)
    articles = write_corpus(tmp_path / "corpus", now)
    async with running_bot(tmp_path, standin) as bot:
        await stories_known(bot, list(articles))
        stories = bot.services.runtime.stories
        assert stories.story_of("strike-gazette") == stories.story_of("strike-wire")

        asked = (
            (
                "/brief ferries",
                timedelta(days=1),
                "Brief: Ferries · the last 24 hours\n2 stories from 2 sources",
            ),
            (
                "/brief Ferries 7d",
                timedelta(days=7),
                "Brief: Ferries · the last 7 days\n3 stories from 3 sources",
            ),
        )
        for command, period, heading in asked:
            replies = await brief_replies(bot, USER, command)
            text = "\n".join(reply["text"] for reply in replies)
            assert text.startswith(heading), text
            quoted = [pair for reply in replies for pair in quotes_and_links(reply)]
            assert quoted, text
            # The proof that nothing is generated: every quote is verbatim in the body of the article it
            # links to, and that article is of the period.
            for sentence, url in quoted:
                [(body, published)] = [(b, p) for b, u, p in articles.values() if u == url]
                assert sentence in body, (sentence, url)
                assert now - period < published <= now
            sentences = [sentence for sentence, _ in quoted]
            assert len(sentences) == len(set(sentences))  # no sentence twice, across stories either
            assert sentences.count(SHARED) <= 1 and sentences.count(BACKGROUND) <= 1
            # The strike, carried by two sources, is one story, and leads.
            assert text.index("Coast Wire, Harbour Gazette") < text.index("New ferry route")
            assert "Kestrel Bay ferry crews strike" in text and "Ferry strike strands thousands" not in text
            assert "repainted" not in text  # ten days old: in no period offered
        assert "Winter ferry timetable cuts late sailing" in text  # three days old: in the week only
        assert sentences.count(BACKGROUND) == 1  # the route and the timetable stories both carry it

        # (Another reader: three briefs at once are as many questions as one user may ask in a burst.)
        [day] = await brief_replies(bot, OTHER, "/brief ferry timetable", OTHER)
        assert day["text"].startswith("Nothing in the last 24 hours on «ferry timetable».")
        assert "The last 7 days hold 1 story: /brief ferry timetable 7d" in day["text"]
        assert "blockquote" not in {e["type"] for e in day.get("entities", [])}
        [nothing] = await brief_replies(bot, OTHER, "/brief volcano eruption", OTHER)
        assert nothing["text"].startswith("Nothing in the last 7 days on «volcano eruption».")
        assert "/search" in nothing["text"]


async def test_brief_without_a_subject_or_with_a_period_not_offered_gets_the_usage_line(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    write_corpus(tmp_path / "corpus", datetime.now(UTC))
    async with running_bot(tmp_path, standin) as bot:
        for command in ("/brief", "/brief 7d", "/brief ferries 30d"):
            [usage] = await brief_replies(bot, USER, command)
            assert usage["text"].startswith("Usage: /brief TOPIC|WORDS [24h|7d], e.g. /brief openai 7d")
        [in_group] = await brief_replies(bot, GROUP, "/brief ferries")
        assert "Kestrel Bay ferry crews strike" in in_group["text"]
        assert in_group["reply_to_message"]["text"] == "/brief ferries"
