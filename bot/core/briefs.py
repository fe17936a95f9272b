"""Briefings: the period's top stories on a topic, told only in sentences quoted verbatim from the articles.

`brief()` keeps the dated articles of the period that hold enough of the topic's words, groups them into
stories (a StoryIndex the caller keeps, or one built here), ranks the stories by relevance × sources ×
recency and quotes each one's most central sentences: the sentences most like the rest of the story's
text (degree centrality over tf·idf cosine, as in LexRank), leaning towards those that name the topic.
Nothing is generated: every item is `article.body[start:end]`, and a sentence nearly identical to one
already quoted is skipped. `briefing()` asks it of a library for what a reader typed (`/brief`,
`newsbot brief`): a tracked topic or words, over the last 24 hours or 7 days. Returns data, never markup.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.library import Library
from bot.core.models import Article, Topic
from bot.core.stories import StoryIndex
from bot.core.text import SENTENCE_END, terms

MAX_STORIES = 5
SENTENCES_PER_STORY = 2
MIN_RELEVANCE = 0.5  # share of the topic's term weight (idf over the period) an article must hold
MIN_WORDS = 6  # shorter "sentences" are datelines, captions and fragments
MAX_WORDS = 60  # longer ones are run-on lists or a split that failed: unreadable as a quote
DUPLICATE_COSINE = 0.7  # a sentence this close to one already quoted says nothing new
TOPIC_SHARE = 1.0  # centrality × (1 + TOPIC_SHARE × the share of the topic's weight the sentence holds)

# Sentences end where text.SENTENCE_END says, and at every line break (paragraphs, list items).
_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True, slots=True)
class BriefItem:
    """One quoted sentence: exactly `article.body[start:end]`, from a story of the brief."""

    sentence: str
    article: Article
    start: int
    end: int
    story_id: str


@dataclass(frozen=True, slots=True)
class BriefStory:
    """A story of the brief: its headline article, its articles in the period and its rank score."""

    story_id: str
    headline: Article
    articles: tuple[Article, ...]
    sources: tuple[str, ...]
    score: float  # relevance × (1 + log2 sources) × recency, see brief()


@dataclass(frozen=True, slots=True)
class Brief:
    """A briefing: the stories chosen, best first, and the sentences quoted from them in that order."""

    query: str
    since: datetime
    until: datetime
    stories: tuple[BriefStory, ...]
    items: tuple[BriefItem, ...]

    @property
    def empty(self) -> bool:
        """Whether nothing in the period is about the topic."""
        return not self.items

    def quotes(self, story: BriefStory) -> tuple[BriefItem, ...]:
        """The sentences quoted from one of the brief's stories, in order."""
        return tuple(item for item in self.items if item.story_id == story.story_id)


def sentence_spans(body: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of a body, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(body):
        start = line.start()
        for end_mark in SENTENCE_END.finditer(body, line.start(), line.end()):
            spans.append((start, end_mark.end()))
            start = end_mark.end()
        spans.append((start, line.end()))
    trimmed = []
    for start, end in spans:
        while start < end and body[start].isspace():
            start += 1
        while end > start and body[end - 1].isspace():
            end -= 1
        if end > start:
            trimmed.append((start, end))
    return trimmed


def brief(
    articles: Iterable[Article],
    query: str,
    *,
    now: datetime,
    period: timedelta,
    stories: StoryIndex | None = None,
    topic_terms: Sequence[str] | None = None,
    max_stories: int = MAX_STORIES,
    per_story: int = SENTENCES_PER_STORY,
    about: Collection[str] | None = None,
) -> Brief:
    """The period's top stories about `query` (or a topic's `topic_terms`), in quoted sentences.

    Articles count when published in (now − period, now] and holding at least MIN_RELEVANCE of the topic's
    term weight (each term weighs its idf among the period's articles); undated articles cannot be placed
    in a period and never count. `about`, the ids of the articles the caller already knows to be about
    the topic (a tracked topic's), replaces that rule: those count whatever share they hold, no others
    do; the rest of the period still informs the idf and the grouping.

    A story's score is the relevance of its best article (the share it holds) × (1 + log2 of its
    distinct sources, or of its articles when unnamed) × 2^(−age / period), age being that of its
    newest article: a story many outlets carry, about the topic, from today, comes first.
    """
    since = now - period
    in_period = [a for a in articles if a.published is not None and since < a.published <= now]
    wanted = list(dict.fromkeys(topic_terms if topic_terms is not None else terms(query)))
    empty = Brief(query, since, now, (), ())
    if not in_period or not wanted:
        return empty
    vocabulary = [Counter(terms(a.title) + terms(a.body)) for a in in_period]
    df: Counter[str] = Counter()
    for counts in vocabulary:
        df.update(counts.keys())
    n = len(in_period)
    idf = {term: math.log(1 + n / df[term]) if df[term] else math.log(1 + n) for term in wanted}
    total = sum(idf.values())
    relevance = {}
    for article, counts in zip(in_period, vocabulary, strict=True):
        share = sum(weight for term, weight in idf.items() if term in counts) / total
        counts_in = share >= MIN_RELEVANCE if about is None else article.id in about
        if counts_in:
            relevance[article.id] = share
    if not relevance:
        return empty
    chosen = sorted((a for a in in_period if a.id in relevance), key=_published_order)
    groups = _group(chosen, stories, sorted(in_period, key=_published_order))
    ranked: list[BriefStory] = []
    for story_id, members in groups.items():
        sources = tuple(dict.fromkeys(m.source for m in members if m.source))
        breadth = len(sources) if sources else len(members)
        newest = max(m.published for m in members if m.published is not None)
        recency = 2 ** (-(now - newest) / period)
        score = max(relevance[m.id] for m in members) * (1 + math.log2(breadth)) * recency
        headline = min(members, key=lambda m: (_published_order(m), -len(m.body)))
        ranked.append(BriefStory(story_id, headline, tuple(members), sources, score))
    ranked.sort(key=lambda s: (-s.score, -_timestamp(s.headline), s.story_id))
    ranked = ranked[: max(0, max_stories)]
    idf_all = {term: math.log(1 + n / count) for term, count in df.items()}
    items: list[BriefItem] = []
    quoted: list[dict[str, float]] = []
    for story in ranked:
        items.extend(_quotes(story, idf, idf_all, quoted, per_story))
    used = {item.story_id for item in items}
    return Brief(query, since, now, tuple(s for s in ranked if s.story_id in used), tuple(items))


# ----------------------------------------------------------------------------------- over the archive

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
# The periods a reader may ask for, by the words they may use; 24 hours unless they say otherwise.
PERIODS: Mapping[str, timedelta] = {
    "24h": DAY,
    "1d": DAY,
    "day": DAY,
    "today": DAY,
    "7d": WEEK,
    "1w": WEEK,
    "week": WEEK,
}
# A last word that means a period, just not one we offer ("30d", "48h", "2 weeks" typed as "2weeks").
_OTHER_PERIOD = re.compile(r"\d+(?:h|hrs?|hours?|d|days?|w|wks?|weeks?|m|mos?|months?|y|yrs?|years?)")


def parse_period(word: str) -> timedelta | None:
    """The period a word names (24h, 7d or a synonym in PERIODS); None for any other word."""
    return PERIODS.get(word.strip().casefold())


def period_word(period: timedelta) -> str:
    """The word for a period that parse_period reads back ("24h", "7d"; else hours, e.g. "48h")."""
    canonical = {DAY: "24h", WEEK: "7d"}
    return canonical.get(period) or f"{round(period / timedelta(hours=1))}h"


def parse_request(words: Sequence[str]) -> tuple[str, timedelta] | None:
    """What `TOPIC|WORDS [24h|7d]` asks for: the subject and the period (24 hours when not given).

    None when there is no subject, or when the last word names a period that is not offered (the
    reader gets the usage line rather than a brief about the words "30d")."""
    words = [word for word in words if word.strip()]
    period = parse_period(words[-1]) if words else None
    if period is not None:
        words = words[:-1]
    elif words and _OTHER_PERIOD.fullmatch(words[-1].casefold()):
        return None
    subject = " ".join(" ".join(words).split())
    return (subject, period or DAY) if subject else None


@dataclass(frozen=True, slots=True)
class Briefing:
    """A brief of the archive for what a reader asked (a topic by slug or name, else words), with what
    a reply needs when the period held nothing."""

    brief: Brief
    subject: str  # the topic's name, or the words as asked
    topic: Topic | None
    wider: Brief | None = None  # when the period held nothing: the last WEEK's brief, if that is longer
    newest: datetime | None = None  # when the archive's newest dated article was published

    @property
    def period(self) -> timedelta:
        """How far back the brief looked."""
        return self.brief.until - self.brief.since


def briefing(
    library: Library,
    wanted: str,
    *,
    now: datetime,
    period: timedelta,
    stories: StoryIndex | None = None,
) -> Briefing:
    """The brief for `wanted` over (now − period, now]: of a tracked topic when it names one (its slug or
    name; its articles as the library knows them, ranked by how much of its words they hold), else of
    the words. When nothing came up and a week is longer, the week's brief comes along (the reply can
    say what a wider look would find)."""
    wanted = " ".join(wanted.split())
    topic = library.matcher.find(wanted)
    found = _brief_of(library, wanted, topic, now, period, stories)
    wider = None
    if found.empty and period < WEEK:
        wider = _brief_of(library, wanted, topic, now, WEEK, stories)
    newest = library.latest(limit=1)
    return Briefing(
        found,
        topic.name if topic is not None else wanted,
        topic,
        wider,
        newest[0].published if newest else None,
    )


def topic_terms(topic: Topic) -> list[str]:
    """The analysed words of a topic's name and aliases, each once."""
    return list(dict.fromkeys(term for text in (topic.name, *topic.aliases) for term in terms(text)))


def _brief_of(
    library: Library,
    wanted: str,
    topic: Topic | None,
    now: datetime,
    period: timedelta,
    stories: StoryIndex | None,
) -> Brief:
    positions = library.published_within(now - period, now)
    articles = [library.articles[p] for p in positions]
    if topic is None:
        return brief(articles, wanted, now=now, period=period, stories=stories)
    about = {library.articles[p].id for p in positions if topic.slug in library.article_topics[p]}
    return brief(
        articles,
        topic.name,
        now=now,
        period=period,
        stories=stories,
        topic_terms=topic_terms(topic),
        about=about,
    )


def _published_order(article: Article) -> tuple[float, str]:
    return (_timestamp(article), article.id)


def _timestamp(article: Article) -> float:
    return article.published.timestamp() if article.published is not None else math.inf


def _group(
    articles: Sequence[Article], stories: StoryIndex | None, period: Sequence[Article]
) -> dict[str, list[Article]]:
    """Articles by story: the caller's index where it knows them, else an index of the whole period's
    articles (all of them, in publication order: the idf of a handful of articles says little)."""
    local: StoryIndex | None = None
    groups: dict[str, list[Article]] = {}
    for article in articles:
        story_id = stories.story_of(article.id) if stories is not None else None
        if story_id is None:
            if local is None:
                local = StoryIndex()
                known = stories if stories is not None else ()
                local.add_all(a for a in period if a.id not in known)
            story_id = local.story_of(article.id)
        groups.setdefault(story_id or article.id, []).append(article)
    return groups


def _quotes(
    story: BriefStory,
    topic: Mapping[str, float],
    idf: Mapping[str, float],
    quoted: list[dict[str, float]],
    limit: int,
) -> list[BriefItem]:
    """The story's most central sentences not already (nearly) quoted; records the ones it takes."""
    candidates: list[tuple[Article, int, int, dict[str, float], float]] = []
    topic_total = sum(topic.values()) or 1.0
    for article in story.articles:
        for start, end in sentence_spans(article.body):
            text = article.body[start:end]
            if not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                continue
            counts = Counter(terms(text))
            if not counts:
                continue
            vector = {term: (1 + math.log(tf)) * idf.get(term, 0.0) for term, tf in counts.items()}
            norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
            vector = {term: w / norm for term, w in vector.items()}
            share = sum(weight for term, weight in topic.items() if term in counts) / topic_total
            candidates.append((article, start, end, vector, share))
    scored = []
    for i, (article, start, end, vector, share) in enumerate(candidates):
        centrality = sum(_cosine(vector, other[3]) for j, other in enumerate(candidates) if j != i)
        # A story of one short article has no other sentences to agree with: relevance still orders them.
        score = (centrality + 1e-3) * (1 + TOPIC_SHARE * share)
        scored.append((-score, _timestamp(article), article.id, start, end, vector))
    scored.sort(key=lambda row: row[:4])
    by_id = {a.id: a for a in story.articles}
    taken: list[BriefItem] = []
    for _, _, article_id, start, end, vector in scored:
        if len(taken) >= limit:
            break
        if any(_cosine(vector, earlier) >= DUPLICATE_COSINE for earlier in quoted):
            continue
        article = by_id[article_id]
        taken.append(BriefItem(article.body[start:end], article, start, end, story.story_id))
        quoted.append(vector)
    return taken


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(term, 0.0) for term, weight in a.items())
