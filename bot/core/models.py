"""Value types shared by the whole core: articles, passages, hits, snippets, topics, problems.

Frozen dataclasses only. Must not import telegram, aiosqlite, asyncio or pydantic
(tests/test_architecture.py keeps it so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one input file (or one line of it); loading goes on without it."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as loaded from the corpus: plain text, no markup."""

    id: str
    title: str
    body: str  # plain text; paragraphs separated by one blank line
    published: datetime | None = None  # always timezone-aware when set
    source: str | None = None
    url: str | None = None
    tags: tuple[str, ...] = ()  # raw `topics`/`tags` from the file, as written
    path: str = ""  # relative to the corpus directory, "/"-separated
    line: int | None = None  # for JSON Lines and feeds: where the article starts


@dataclass(frozen=True, slots=True)
class Corpus:
    """Everything one load of a corpus directory produced."""

    articles: tuple[Article, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Token:
    """One analysed term with its character span in the text it came from."""

    term: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Passage:
    """A paragraph-sized piece of an article's body; the unit the index scores."""

    article_id: str
    ordinal: int  # 0-based position among the article's passages
    text: str
    start: int  # character offset of `text` in Article.body


@dataclass(frozen=True, slots=True)
class Snippet:
    """A short excerpt with the character spans of matched terms (offsets into `text`)."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Topic:
    """A tracked subject: a slug for commands, a display name, and the words that mention it."""

    slug: str
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: an article with its best passage, its score and a snippet."""

    article: Article
    score: float
    snippet: Snippet
    passage: Passage | None = None
    topics: tuple[str, ...] = field(default=())  # topic slugs of the article


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One page of answers to a question, with the total number of matching articles."""

    query: str
    terms: tuple[str, ...]  # the analysed query terms
    hits: tuple[Hit, ...]
    total: int  # matching articles across all pages
    hint: str | None = None  # why nothing could match, when the question itself is the reason
    # The question's words no story holds, as typed: all of them when nothing answers; with answers only
    # those that tell (any from 1,000 stories on, the names below that: see Library._search).
    unknown: tuple[str, ...] = ()
    # Words no story holds that name a tracked topic, each ranked as another alias of that topic its
    # stories hold, when the question is answered (see Library.topic_stand_ins).
    stand_ins: tuple[StandIn, ...] = ()


@dataclass(frozen=True, slots=True)
class StandIn:
    """A question's word no story holds, ranked as another alias of the tracked topic it names."""

    word: str  # as typed in the question
    alias: str  # as the topics file writes it
    topic: str  # the topic's display name


@dataclass(frozen=True, slots=True)
class TopicRelated:
    """Stories related to one topic a message mentions."""

    topic: Topic
    hits: tuple[Hit, ...]
