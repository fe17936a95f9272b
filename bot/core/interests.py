"""Interests: what chats subscribe to (a topic or a keyword query), and which new articles match them.

Subscription kinds and records, the alert statuses of the outbox, keyword queries (`words "phrases"
-excluded`, matched through the one analyzer), matching new articles to subscriptions, and the preview
of what a keyword query would have matched. The store keeps these types; it does not define them.
Pure and synchronous: must not import telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np

from bot.core.library import Library
from bot.core.models import Article
from bot.core.text import terms

MAX_SUBSCRIPTIONS = 50  # per chat: bounds what one chat can cost every new article
PREVIEW_SIZE = 3


class SubscriptionKind(StrEnum):
    """What a subscription follows: a topic (by slug) or a keyword query (by its normalised text)."""

    TOPIC = "topic"
    KEYWORDS = "keywords"


class SubscribeOutcome(StrEnum):
    """What asking for a subscription did."""

    ADDED = "added"
    ALREADY = "already"
    LIMIT_REACHED = "limit_reached"


class AlertStatus(StrEnum):
    """Where one alert (an article owed to a chat) stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    PARKED = "parked"  # the chat blocked or removed the bot; revived when the chat comes back


@dataclass(frozen=True, slots=True)
class Subscription:
    """One chat's standing subscription in a topic (slug) or a normalised keyword query."""

    id: int
    chat_id: int
    kind: SubscriptionKind
    value: str
    label: str
    created_at: datetime
    schedule: str = "now"  # bot.core.schedules: now, daily HH:MM, weekly DAY HH:MM


# --------------------------------------------------------------------------- keyword queries

MAX_KEYWORDS_CHARS = 200
MAX_KEYWORD_TERMS = 12  # bounds the work one subscription can cost per new article

_KEYWORD_PART = re.compile(r'(-?)"([^"]*)"|(\S+)')


class KeywordError(ValueError):
    """A keyword subscription that cannot be accepted; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    """Words and phrases that must all occur in an article, and words that must not."""

    required: tuple[tuple[str, ...], ...]  # each an analysed phrase; a single word is a 1-tuple
    excluded: tuple[tuple[str, ...], ...]
    text: str  # the normalised form users see and the store keeps

    def matches(self, article_terms: Sequence[str], article_term_set: frozenset[str] | None = None) -> bool:
        """Whether an article, given as its analysed terms in order, satisfies the query."""
        present = article_term_set if article_term_set is not None else frozenset(article_terms)
        if any(_contains(article_terms, present, phrase) for phrase in self.excluded):
            return False
        return all(_contains(article_terms, present, phrase) for phrase in self.required)


def parse_keywords(text: str) -> KeywordQuery:
    """Parse `words "quoted phrases" -excluded` into a KeywordQuery; raise KeywordError when unusable."""
    if len(text) > MAX_KEYWORDS_CHARS:
        raise KeywordError(f"Keyword subscriptions are limited to {MAX_KEYWORDS_CHARS} characters.")
    required: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    shown_required: list[str] = []
    shown_excluded: list[str] = []
    for match in _KEYWORD_PART.finditer(text.replace("“", '"').replace("”", '"')):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        raw = quoted if quoted is not None else bare
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, raw = "-", bare[1:]
        phrase = tuple(terms(raw))
        if not phrase:
            continue  # stop words and punctuation carry no meaning on their own
        words = " ".join(raw.split())
        shown = f'"{words}"' if len(phrase) > 1 or quoted is not None else words
        if negated:
            excluded.append(phrase)
            shown_excluded.append(f"-{shown}")
        else:
            required.append(phrase)
            shown_required.append(shown)
    if not required:
        raise KeywordError('Give at least one word or "quoted phrase" an article must contain.')
    if sum(len(p) for p in required) + sum(len(p) for p in excluded) > MAX_KEYWORD_TERMS:
        raise KeywordError(f"Keyword subscriptions are limited to {MAX_KEYWORD_TERMS} words.")
    shown_all = " ".join(dict.fromkeys(shown_required + shown_excluded))
    return KeywordQuery(tuple(dict.fromkeys(required)), tuple(dict.fromkeys(excluded)), shown_all)


def _contains(article_terms: Sequence[str], present: frozenset[str], phrase: tuple[str, ...]) -> bool:
    if not all(term in present for term in phrase):
        return False
    if len(phrase) == 1:
        return True
    first, rest = phrase[0], phrase[1:]
    width = len(phrase)
    for index, term in enumerate(article_terms):
        if term == first and tuple(article_terms[index + 1 : index + width]) == rest:
            return True
    return False


def match_interests(
    articles: Sequence[Article],
    article_topics: Sequence[tuple[str, ...]],
    subscriptions: Sequence[Subscription],
    doc_freq: Callable[[str], int] | None = None,
) -> list[tuple[int, str, str]]:
    """(chat id, article id, label) for every subscription each article satisfies: the alerts to create.

    `doc_freq` (the archive's document frequency of a term), when given, keys each keyword query by its
    rarest word, so an article meets only the queries whose rarest word it holds: the same alerts, less
    work."""
    by_topic: dict[str, list[Subscription]] = {}
    # Keyword subscriptions grouped by their query (many chats follow the same words: each query is
    # checked once per article), and the queries by one word each needs: an article is checked only
    # against the queries keyed by a word it holds.
    subscribers: dict[KeywordQuery, list[tuple[int, Subscription]]] = {}
    for number, subscription in enumerate(subscriptions):
        if subscription.kind == SubscriptionKind.TOPIC:
            by_topic.setdefault(subscription.value, []).append(subscription)
        elif subscription.kind == SubscriptionKind.KEYWORDS:
            query = _parsed_keywords(subscription.value)
            if query is not None:  # (None: stored before a limit changed; it simply matches nothing)
                subscribers.setdefault(query, []).append((number, subscription))
    by_term: dict[str, list[_Compiled]] = {}
    for query in subscribers:
        words = [phrase[0] for phrase in query.required]
        key = min(words, key=doc_freq) if doc_freq is not None else words[0]
        by_term.setdefault(key, []).append(_compiled(query))
    found: list[tuple[int, str, str]] = []
    for article, slugs in zip(articles, article_topics, strict=True):
        for slug in slugs:
            found.extend((i.chat_id, article.id, i.label) for i in by_topic.get(slug, ()))
        if by_term:
            article_terms = terms(f"{article.title}\n\n{article.body}")
            present = frozenset(article_terms)
            matched = [
                pair
                for term in present & by_term.keys()
                for compiled in by_term[term]
                if compiled.matches(article_terms, present)
                for pair in subscribers[compiled.query]
            ]
            matched.sort(key=lambda pair: pair[0])  # in the subscriptions' order, as given
            found.extend(
                (subscription.chat_id, article.id, subscription.label) for _, subscription in matched
            )
    return found


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A keyword query split for a fast check: its single words as sets, its phrases apart."""

    query: KeywordQuery
    words: frozenset[str]  # required single words
    phrases: tuple[tuple[str, ...], ...]  # required phrases of several words
    excluded_words: frozenset[str]
    excluded_phrases: tuple[tuple[str, ...], ...]

    def matches(self, article_terms: Sequence[str], present: frozenset[str]) -> bool:
        """KeywordQuery.matches, with set operations for the single words."""
        if not self.words <= present or not self.excluded_words.isdisjoint(present):
            return False
        if any(_contains(article_terms, present, phrase) for phrase in self.excluded_phrases):
            return False
        return all(_contains(article_terms, present, phrase) for phrase in self.phrases)


def _compiled(query: KeywordQuery) -> _Compiled:
    return _Compiled(
        query,
        frozenset(p[0] for p in query.required if len(p) == 1),
        tuple(p for p in query.required if len(p) > 1),
        frozenset(p[0] for p in query.excluded if len(p) == 1),
        tuple(p for p in query.excluded if len(p) > 1),
    )


@functools.lru_cache(maxsize=1 << 16)
def _parsed_keywords(value: str) -> KeywordQuery | None:
    """A stored keyword subscription parsed once per process (None when it no longer parses)."""
    try:
        return parse_keywords(value)
    except KeywordError:
        return None


def keyword_preview(library: Library, query: KeywordQuery, limit: int = PREVIEW_SIZE) -> list[Article]:
    """The newest articles a keyword query matches (candidates come from the index, newest checked first)."""
    first_terms = [phrase[0] for phrase in query.required]
    ranked, _, _ = library.rank_articles(first_terms)
    newest_first = ranked[np.argsort(library.recency_rank[ranked], kind="stable")]
    found: list[Article] = []
    for position in newest_first.tolist():
        article = library.articles[position]
        if query.matches(terms(f"{article.title}\n\n{article.body}")):
            found.append(article)
            if len(found) >= limit:
                break
    return found
