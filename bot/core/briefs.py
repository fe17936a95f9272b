"""Briefings: the period's top stories on a topic, told only in sentences quoted verbatim from the articles.

`brief()` keeps the dated articles of the period that hold enough of the topic's words, groups them into
stories (a StoryIndex the caller keeps, or one built here), ranks the stories by relevance × sources ×
recency and quotes each one's most central sentences: the sentences most like the rest of the story's
text (degree centrality over tf·idf cosine, as in LexRank), leaning towards those that name the topic.
Nothing is generated: every item is `article.body[start:end]`, and a sentence nearly identical to one
already quoted is skipped. Returns data, never markup. Pure and synchronous: must not import telegram,
aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.models import Article
from bot.core.stories import StoryIndex
from bot.core.text import terms

MAX_STORIES = 5
SENTENCES_PER_STORY = 2
MIN_RELEVANCE = 0.5  # share of the topic's term weight (idf over the period) an article must hold
MIN_WORDS = 6  # shorter "sentences" are datelines, captions and fragments
MAX_WORDS = 60  # longer ones are run-on lists or a split that failed: unreadable as a quote
DUPLICATE_COSINE = 0.7  # a sentence this close to one already quoted says nothing new
TOPIC_SHARE = 1.0  # centrality × (1 + TOPIC_SHARE × the share of the topic's weight the sentence holds)

# A sentence ends at . ! ? or … (with closing quotes or brackets) before whitespace and a capital, a digit
# or an opening quote; a line break always ends one (paragraphs, list items).
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9£$€])")
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


def sentence_spans(body: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of a body, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(body):
        start = line.start()
        for end_mark in _SENTENCE_END.finditer(body, line.start(), line.end()):
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
) -> Brief:
    """The period's top stories about `query` (or a topic's `topic_terms`), in quoted sentences.

    Articles count when published in (now − period, now] and holding at least MIN_RELEVANCE of the topic's
    term weight (each term weighs its idf among the period's articles); undated articles cannot be placed
    in a period and never count. A story's score is the relevance of its best article (the share it holds)
    × (1 + log2 of its distinct sources, or of its articles when unnamed) × 2^(−age / period), age being
    that of its newest article: a story many outlets carry, about the topic, from today, comes first.
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
        if share >= MIN_RELEVANCE:
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
