"""Tracked topics: the topics file, mention detection in any text, and the topics of an article.

Mentions are whole words or phrases found through the one analyzer (bot.core.text), so "ChatGPT's",
"CHATGPT" and "chatgpt" all mention the same topic and "Soraya" does not mention "Sora". Keyword
subscriptions are bot.core.interests'. Synchronous; load_topics reads the topics file, the rest is pure.
Must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import itertools
import re
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from bot.core.models import Article, Problem, Token, Topic
from bot.core.text import analyze, terms

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# Hundreds of topics with dozens of aliases each fit in a few dozen KiB; reading and analysing a file of
# megabytes would hold up every start and reload (4.9 MB took 14 s and 400 MB).
MAX_TOPICS_BYTES = 256 * 1024


def load_topics(path: Path) -> tuple[tuple[Topic, ...], tuple[Problem, ...]]:
    """Read a topics YAML file; a missing, unreadable or unparsable file, and each bad entry, is a problem."""
    shown = path.name or str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        return (), (
            Problem(
                shown,
                None,
                f"topics file not found: {path} (point NEWSBOT_TOPICS_FILE at one, or create it with "
                "`topics: []` to track no topics)",
            ),
        )
    except OSError as error:
        return (), (Problem(shown, None, f"cannot read topics file: {error.strerror or error}"),)
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the reader forever; a directory has no text
        return (), (Problem(shown, None, f"topics file {path} is not a regular file; not read"),)
    if info.st_size > MAX_TOPICS_BYTES:
        return (), (
            Problem(
                shown,
                None,
                f"topics file is {info.st_size:,} bytes, over the {MAX_TOPICS_BYTES // 1024} KiB limit "
                "for topics files; not read",
            ),
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TOPICS_BYTES + 1)
        if len(data) > MAX_TOPICS_BYTES:
            return (), (
                Problem(shown, None, f"topics file grew past the {MAX_TOPICS_BYTES // 1024} KiB limit"),
            )
        raw = yaml.safe_load(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return (), (Problem(shown, None, f"cannot read topics file: {error}"),)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return (), (
            Problem(shown, line, f"topics file is not valid YAML: {getattr(error, 'problem', error)}"),
        )
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        # PyYAML builds numbers and dates itself: a 5,000-digit number or deep nesting ends up here.
        return (), (Problem(shown, None, f"topics file is not valid YAML: {error}"),)
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
        # Each topic's aliases with searchable words, in the file's order, with their terms; and each
        # one-word alias's term → the topics it names (see Library.topic_stand_ins).
        self._aliases: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
        one_word: dict[str, list[Topic]] = {}
        for topic in self.topics:
            analysed = []
            for alias in topic.aliases:
                tokens = analyze(alias)
                if tokens:
                    alias_terms = tuple(token.term for token in tokens)
                    gaps = _gaps(alias, tokens)
                    phrases.setdefault(alias_terms[0], []).append((alias_terms, gaps, topic.slug))
                    analysed.append((alias, alias_terms))
                    if len(alias_terms) == 1 and topic not in one_word.get(alias_terms[0], ()):
                        one_word.setdefault(alias_terms[0], []).append(topic)
            self._aliases[topic.slug] = tuple(analysed)
        for candidates in phrases.values():
            candidates.sort(key=lambda pair: -len(pair[0]))
        self._phrases = phrases
        self._one_word = {term: tuple(topics) for term, topics in one_word.items()}

    def get(self, slug: str) -> Topic | None:
        """The topic with this slug, if any."""
        return self._by_slug.get(slug)

    def aliases(self, slug: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The topic's aliases that hold searchable words, in the file's order, each with its terms."""
        return self._aliases.get(slug, ())

    def named_by(self, term: str) -> tuple[Topic, ...]:
        """The topics one of whose aliases is this term alone ("pentagon" → Military AI)."""
        return self._one_word.get(term, ())

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
