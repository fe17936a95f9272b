"""What /brief says, as Telegram HTML: the period's top stories, each sentence quoted verbatim in a
blockquote and attributed to its article (source and link); or, when the period held nothing, why and
what a wider look would find.

The quotes are the articles' own sentences, escaped and never reworded or shortened: only the headings
and attributions are ours. A long brief is split between stories by bot.tg.sending like any message.
Pure and synchronous: bot.core types in, HTML out; must not import telegram, aiosqlite, asyncio,
pydantic or any HTTP client.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.core.briefs import WEEK, Briefing, BriefItem, BriefStory, period_word
from bot.render.html import escape, link
from bot.render.messages import TITLE_SHOWN, format_date, shorten

HOUR = timedelta(hours=1)
SOURCES_SHOWN = 4  # sources named under a story's headline; more are counted


def period_words(period: timedelta) -> str:
    """How far back a brief looked, in words: "24 hours", "7 days"."""
    hours = round(period / HOUR)
    if hours > 24 and hours % 24 == 0:
        return f"{hours // 24} days"
    return "1 hour" if hours == 1 else f"{hours} hours"


def brief_message(briefing: Briefing, command: str = "/brief") -> str:
    """The brief, or when the period held nothing, a reply saying so (see nothing_in_period)."""
    found = briefing.brief
    if found.empty:
        return nothing_in_period(briefing, command)
    sources = {source for story in found.stories for source in story.sources}
    count = len(found.stories)
    summary = f"{count} {'story' if count == 1 else 'stories'}"
    if sources:
        summary += f" from {len(sources)} {'source' if len(sources) == 1 else 'sources'}"
    head = (
        f"<b>Brief: {_subject(briefing)}</b> · the last {period_words(briefing.period)}\n"
        f"<i>{summary}, in sentences quoted from the articles</i>"
    )
    blocks = [head]
    blocks += [_story(number, story, found.quotes(story)) for number, story in enumerate(found.stories, 1)]
    return "\n\n".join(blocks)


def nothing_in_period(briefing: Briefing, command: str = "/brief") -> str:
    """Nothing on the subject in the period: say so, point to the week when it holds stories, say how
    old the archive's news is when all of it is older, and offer other ways in."""
    wider = briefing.wider
    subject = _subject(briefing)
    if briefing.topic is not None:
        subject = f"<b>{subject}</b>"
    if wider is not None and not wider.empty:
        count = len(wider.stories)
        again = f"{command} {_argument(briefing)} {period_word(WEEK)}"
        blocks = [
            f"Nothing in the last {period_words(briefing.period)} on {subject}.",
            f"The last {period_words(WEEK)} hold {count} {'story' if count == 1 else 'stories'}: "
            f"<code>{escape(again)}</code>",
        ]
    else:
        looked = wider or briefing.brief  # the longest look taken, and it found nothing
        blocks = [f"Nothing in the last {period_words(looked.until - looked.since)} on {subject}."]
        if briefing.newest is None:
            blocks.append("Briefs are made of dated articles, and the archive has none yet.")
        elif briefing.newest <= looked.since:
            blocks.append(f"The archive's newest article is from {format_date(briefing.newest)}.")
    if briefing.topic is not None:
        latest = f"/latest {briefing.topic.slug}"
        blocks.append(f"<code>{escape(latest)}</code> shows its newest articles, whatever their date.")
    else:
        blocks.append("Try other words, a topic from /topics, or /search to look through the whole archive.")
    return "\n\n".join(blocks)


def _subject(briefing: Briefing) -> str:
    if briefing.topic is not None:
        return escape(" ".join(briefing.topic.name.split()))
    return f"«{escape(shorten(briefing.subject, 100))}»"


def _argument(briefing: Briefing) -> str:
    """What to type after /brief to ask about the same subject again."""
    return briefing.topic.slug if briefing.topic is not None else shorten(briefing.subject, 100)


def _story(number: int, story: BriefStory, items: Sequence[BriefItem]) -> str:
    headline = story.headline
    lines = [f"<b>{number}.</b> {link(shorten(headline.title, TITLE_SHOWN * 2) or 'Untitled', headline.url)}"]
    meta = _sources(story.sources)
    when = format_date(max(a.published for a in story.articles if a.published is not None))
    shown = " · ".join(bit for bit in (meta, when) if bit)
    if shown:
        lines.append(f"<i>{escape(shown)}</i>")
    for item in items:
        # The sentence exactly as the article has it (a line break cannot occur inside one).
        lines.append(f"<blockquote>{escape(item.sentence)}</blockquote>")
        lines.append(f"— {_attribution(item)}")
    return "\n".join(lines)


def _sources(sources: tuple[str, ...]) -> str:
    names = [" ".join(source.split()) for source in sources[:SOURCES_SHOWN]]
    more = f" and {len(sources) - SOURCES_SHOWN} more" if len(sources) > SOURCES_SHOWN else ""
    return ", ".join(names) + more


def _attribution(item: BriefItem) -> str:
    """The quoted article: its source (else its title), linked to it."""
    article = item.article
    name = " ".join((article.source or "").split()) or shorten(article.title, TITLE_SHOWN) or "Untitled"
    return link(name, article.url)
