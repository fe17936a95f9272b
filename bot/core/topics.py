"""Tracked topics: the topics file, mention detection in any text, and the topics of an article.

Mentions are whole words or phrases found through the one analyzer (bot.core.text), so "ChatGPT's",
"CHATGPT" and "chatgpt" all mention the same topic and "Soraya" does not mention "Sora".
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml

from bot.core.models import Article, Problem, Token, Topic
from bot.core.text import analyze, terms

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def load_topics(path: Path) -> tuple[tuple[Topic, ...], tuple[Problem, ...]]:
    """Read a topics YAML file; a missing file means no topics, bad entries become problems."""
    shown = path.name
    if not path.exists():
        return (), ()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return (), (Problem(shown, None, f"cannot read topics file: {error}"),)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return (), (
            Problem(shown, line, f"topics file is not valid YAML: {getattr(error, 'problem', error)}"),
        )
    entries = raw.get("topics") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        return (), (Problem(shown, None, "topics file must have a `topics:` list"),)
    topics: list[Topic] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        topic, reason = _parse_topic(entry)
        if topic is None:
            problems.append(Problem(shown, None, f"topic #{number}: {reason}"))
        elif topic.slug in seen:
            problems.append(Problem(shown, None, f"topic #{number}: duplicate slug {topic.slug!r}"))
        else:
            seen.add(topic.slug)
            topics.append(topic)
    return tuple(topics), tuple(problems)


def _parse_topic(entry: object) -> tuple[Topic | None, str]:
    if not isinstance(entry, dict):
        return None, "each topic must be a mapping with slug, name and aliases"
    slug, name = entry.get("slug"), entry.get("name")
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        return None, f"slug must be lowercase letters, digits and hyphens (got {slug!r})"
    if not isinstance(name, str) or not name.strip():
        return None, f"topic {slug!r} needs a name"
    aliases = entry.get("aliases", [])
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, list) or not all(isinstance(alias, str) for alias in aliases):
        return None, f"aliases of {slug!r} must be a list of strings"
    description = entry.get("description", "")
    if not isinstance(description, str):
        return None, f"description of {slug!r} must be a string"
    unique = tuple(dict.fromkeys(alias.strip() for alias in [name, *aliases] if alias.strip()))
    if not any(terms(alias) for alias in unique):
        return None, f"topic {slug!r} has no alias made of searchable words"
    return Topic(slug=slug, name=name.strip(), aliases=unique, description=description.strip()), ""


class TopicMatcher:
    """Finds which topics a text mentions, by whole analysed words and phrases."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        self._by_slug = {topic.slug: topic for topic in self.topics}
        # First term of each alias → the (alias terms, slug) pairs starting with it, longest first,
        # so one scan over the text's tokens finds every phrase without regular expressions.
        phrases: dict[str, list[tuple[tuple[str, ...], tuple[int, ...], str]]] = {}
        for topic in self.topics:
            for alias in topic.aliases:
                tokens = analyze(alias)
                if tokens:
                    alias_terms = tuple(token.term for token in tokens)
                    gaps = _gaps(alias, tokens)
                    phrases.setdefault(alias_terms[0], []).append((alias_terms, gaps, topic.slug))
        for candidates in phrases.values():
            candidates.sort(key=lambda pair: -len(pair[0]))
        self._phrases = phrases

    def get(self, slug: str) -> Topic | None:
        """The topic with this slug, if any."""
        return self._by_slug.get(slug)

    def find(self, name: str) -> Topic | None:
        """A topic named by its slug or display name (case-insensitive), as users type it in commands."""
        wanted = " ".join(name.casefold().split())
        for topic in self.topics:
            if wanted in (topic.slug, topic.name.casefold(), topic.slug.replace("-", " ")):
                return topic
        return None

    def mention_spans(self, text: str) -> list[tuple[str, int, int]]:
        """Every topic mention as (slug, start, end) character offsets into text, in text order."""
        tokens = analyze(text)
        found: list[tuple[str, int, int]] = []
        index = 0
        while index < len(tokens):
            step = 1
            for alias_terms, gaps, slug in self._phrases.get(tokens[index].term, ()):
                end = index + len(alias_terms)
                if (
                    end <= len(tokens)
                    and all(tokens[index + k].term == alias_terms[k] for k in range(1, len(alias_terms)))
                    and _gaps(text, tokens[index:end]) == gaps
                ):
                    found.append((slug, tokens[index].start, tokens[end - 1].end))
                    step = len(alias_terms)
                    break
            index += step
        return found

    def mentions(self, text: str) -> list[Topic]:
        """The topics a text mentions, each once, in order of first mention."""
        slugs = dict.fromkeys(slug for slug, _, _ in self.mention_spans(text))
        return [self._by_slug[slug] for slug in slugs]

    def topics_of(self, article: Article) -> tuple[str, ...]:
        """Topic slugs of an article: declared tags that name a topic, then topics its text mentions."""
        declared = (self._resolve_tag(tag) for tag in article.tags)
        mentioned = (topic.slug for topic in self.mentions(f"{article.title}\n\n{article.body}"))
        return tuple(dict.fromkeys(slug for slug in _chain(declared, mentioned) if slug is not None))

    def _resolve_tag(self, tag: str) -> str | None:
        topic = self.find(tag)
        if topic is not None:
            return topic.slug
        mentioned = self.mentions(tag)
        return mentioned[0].slug if len(mentioned) == 1 else None


def _gaps(text: str, tokens: Sequence[Token]) -> tuple[int, ...]:
    """How many words (dropped stop words) stand between consecutive tokens of a phrase.

    "Department of Defense" and "Department of Defense" agree; "the model has some context" does not
    spell "Model Context Protocol" even though its stop words vanish in analysis.
    """
    return tuple(len(text[a.end : b.start].split()) for a, b in itertools.pairwise(tokens))


def _chain(*parts: Iterable[str | None]) -> Iterable[str | None]:
    for part in parts:
        yield from part


# --------------------------------------------------------------------------- keyword subscriptions

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


class Interest(Protocol):
    """A chat's standing interest in a topic or a keyword query (the store's Subscription fits)."""

    @property
    def chat_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def label(self) -> str: ...


def match_interests(
    articles: Sequence[Article], article_topics: Sequence[tuple[str, ...]], interests: Sequence[Interest]
) -> list[tuple[int, str, str]]:
    """(chat id, article id, label) for every interest each article satisfies: the alerts to create."""
    by_topic: dict[str, list[Interest]] = {}
    keyword_queries: list[tuple[Interest, KeywordQuery]] = []
    for interest in interests:
        if interest.kind == "topic":
            by_topic.setdefault(interest.value, []).append(interest)
        elif interest.kind == "keywords":
            try:
                keyword_queries.append((interest, parse_keywords(interest.value)))
            except KeywordError:
                continue  # stored before a limit changed: it simply matches nothing
    found: list[tuple[int, str, str]] = []
    for article, slugs in zip(articles, article_topics, strict=True):
        for slug in slugs:
            found.extend((i.chat_id, article.id, i.label) for i in by_topic.get(slug, ()))
        if keyword_queries:
            article_terms = terms(f"{article.title}\n\n{article.body}")
            present = frozenset(article_terms)
            found.extend(
                (interest.chat_id, article.id, interest.label)
                for interest, query in keyword_queries
                if query.matches(article_terms, present)
            )
    return found
