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
import numpy.typing as npt

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
        pronoun = "us" in {word.strip('"-').casefold() for word in text.split()}
        hint = ' For the country, write "US".' if pronoun else ""  # ("us" is the pronoun: no term)
        raise KeywordError(f'Give at least one word or "quoted phrase" an article must contain.{hint}')
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
    # Per key word: the subscription numbers (ascending) of the queries an article holding it certainly
    # meets (that one word and nothing else: most of them), and the queries still to check.
    certain: dict[str, list[int]] = {}
    checked: dict[str, list[tuple[_Compiled, npt.NDArray[np.int64]]]] = {}
    for query, following in subscribers.items():
        words = [phrase[0] for phrase in query.required]
        key = min(words, key=doc_freq) if doc_freq is not None else words[0]
        numbers = [number for number, _ in following]
        compiled = _compiled(query)
        if compiled.words == {key} and not (
            compiled.phrases or compiled.excluded_words or compiled.excluded_phrases
        ):
            certain.setdefault(key, []).extend(numbers)
        else:
            checked.setdefault(key, []).append((compiled, np.asarray(numbers, dtype=np.int64)))
    always = {key: np.sort(np.asarray(numbers, dtype=np.int64)) for key, numbers in certain.items()}
    keys = always.keys() | checked.keys()
    found: list[tuple[int, str, str]] = []
    for article, slugs in zip(articles, article_topics, strict=True):
        for slug in slugs:
            found.extend((i.chat_id, article.id, i.label) for i in by_topic.get(slug, ()))
        if not keys:
            continue
        article_terms = terms(f"{article.title}\n\n{article.body}")
        present = frozenset(article_terms)
        parts = []
        for term in present & keys:
            if term in always:
                parts.append(always[term])
            parts.extend(
                numbers
                for compiled, numbers in checked.get(term, ())
                if compiled.matches(article_terms, present)
            )
        if not parts:
            continue
        # In the subscriptions' order, as given (a subscription belongs to one query: no repeats).
        matched = np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]
        article_id = article.id
        found.extend(
            (subscriptions[number].chat_id, article_id, subscriptions[number].label)
            for number in matched.tolist()
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


@functools.lru_cache(maxsize=1 << 16)
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
