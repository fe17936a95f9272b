"""The library: one immutable snapshot of articles, passages, topics and their BM25 index.

A reload builds a whole new Library and swaps it in with one assignment, so a reader never sees half
an index. Answers are per article: each article is represented by its best-scoring passage.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.core.corpus import corpus_fingerprint, load_corpus
from bot.core.index import BM25Index
from bot.core.models import Article, Corpus, Hit, Passage, Problem, SearchResult, Topic
from bot.core.snippets import make_snippet
from bot.core.text import terms
from bot.core.topics import TopicMatcher, load_topics

# Passages aim for 50–120 words: long enough to carry context, short enough that the best passage
# of a long article is about what was asked.
PASSAGE_MIN_WORDS = 50
PASSAGE_MAX_WORDS = 120

STOP_WORDS_ONLY_HINT = (
    "Your question has only very common words. Ask with a name, a product, a place or a number, "
    "e.g. “Sora daily losses” or “MIIT standards”."
)

Progress = Callable[[str, int, int], None]

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_WORD = re.compile(r"\S+")


def split_passages(article: Article) -> list[Passage]:
    """Cut an article's body into passages of roughly 50–120 words, on paragraph then sentence bounds."""
    pieces: list[tuple[int, int]] = []
    for start, end in _paragraph_spans(article.body):
        pieces.extend(_windows(article.body, start, end))
    merged: list[tuple[int, int]] = []
    for start, end in pieces:
        # Short paragraphs (one-line scraped paragraphs, lists) join the previous passage while it is short.
        if (
            merged
            and _word_count(article.body, *merged[-1]) < PASSAGE_MIN_WORDS
            and (_word_count(article.body, merged[-1][0], end) <= PASSAGE_MAX_WORDS)
        ):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [
        Passage(article_id=article.id, ordinal=number, text=article.body[start:end], start=start)
        for number, (start, end) in enumerate(merged)
    ]


def _paragraph_spans(body: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _PARAGRAPH_BREAK.finditer(body):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, len(body)))
    return [(start, end) for start, end in (_strip_span(body, s, e) for s, e in spans) if end > start]


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _word_count(text: str, start: int, end: int) -> int:
    return len(_WORD.findall(text, start, end))


def _windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one long paragraph into windows at sentence ends (at word ends for a giant sentence)."""
    if _word_count(text, start, end) <= PASSAGE_MAX_WORDS:
        return [(start, end)]
    bounds = [start]
    bounds.extend(match.end() for match in _SENTENCE_END.finditer(text, start, end))
    if bounds[-1] != end:
        bounds.append(end)
    windows: list[tuple[int, int]] = []
    window_start = start
    for previous, current in pairwise(bounds):
        if _word_count(text, window_start, current) > PASSAGE_MAX_WORDS and previous > window_start:
            windows.append(_strip_span(text, window_start, previous))
            window_start = previous
    windows.append(_strip_span(text, window_start, end))
    result: list[tuple[int, int]] = []
    for window in windows:
        result.extend(_word_windows(text, *window))
    return result


def _word_windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    words = list(_WORD.finditer(text, start, end))
    if len(words) <= PASSAGE_MAX_WORDS:
        return [(start, end)]
    return [
        (words[i].start(), words[min(i + PASSAGE_MAX_WORDS, len(words)) - 1].end())
        for i in range(0, len(words), PASSAGE_MAX_WORDS)
    ]


def passage_terms(article: Article, passage: Passage) -> list[str]:
    """The terms indexed for a passage: the article's title, then the passage text."""
    # The title rides along with every passage: it names what the whole article is about.
    return terms(article.title) + terms(passage.text)


@dataclass(frozen=True, slots=True, eq=False)
class Library:
    """An immutable, searchable snapshot of the corpus."""

    articles: tuple[Article, ...]
    problems: tuple[Problem, ...]
    topics: tuple[Topic, ...]
    matcher: TopicMatcher
    passages: tuple[Passage, ...]
    passage_article: npt.NDArray[np.int32]  # article index of each passage
    index: BM25Index
    article_topics: tuple[tuple[str, ...], ...]  # topic slugs per article
    recency_rank: npt.NDArray[np.int64]  # per article: 0 = newest (undated last, then by id)
    topic_members: dict[str, tuple[int, ...]] = field(default_factory=dict)  # slug → article positions
    fingerprint: str = ""
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    build_seconds: float = 0.0
    _by_id: dict[str, int] = field(default_factory=dict)
    _by_token: dict[str, int] = field(default_factory=dict)

    @property
    def article_count(self) -> int:
        """How many articles the snapshot holds."""
        return len(self.articles)

    def article(self, article_id: str) -> Article | None:
        """The article with this id, if present."""
        position = self._by_id.get(article_id)
        return None if position is None else self.articles[position]

    def by_token(self, token: str) -> Article | None:
        """The article a short token (see article_token) stands for, if it is still in the snapshot."""
        position = self._by_token.get(token)
        return None if position is None else self.articles[position]

    def position(self, article_id: str) -> int | None:
        """Index of the article with this id in `articles`."""
        return self._by_id.get(article_id)

    def search(self, question: str, *, limit: int = 3, offset: int = 0) -> SearchResult:
        """Articles that best answer a question, one per article with its best passage and a snippet."""
        query_terms = tuple(terms(question))
        if not query_terms:
            return SearchResult(question, (), (), 0, hint=STOP_WORDS_ONLY_HINT)
        ranked, scores, best_passages = self.rank_articles(query_terms)
        page = range(max(offset, 0), min(max(offset, 0) + max(limit, 0), len(ranked)))
        hits = tuple(
            self.hit(int(ranked[i]), float(scores[i]), int(best_passages[i]), query_terms) for i in page
        )
        return SearchResult(question, query_terms, hits, len(ranked))

    def rank_articles(
        self, query_terms: Sequence[str]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """All matching articles, best first: (article positions, scores, best passage of each)."""
        matched, scores = self.index.match(query_terms)
        empty = np.zeros(0, dtype=np.int64)
        if len(matched) == 0:
            return empty, np.zeros(0, dtype=np.float64), empty
        passage_ids: npt.NDArray[np.int64] = np.asarray(matched, dtype=np.int64)
        owners = self.passage_article[passage_ids].astype(np.int64)
        # Best passage per article: group by article, best score first, lower passage id on a tie.
        order = np.lexsort((passage_ids, -scores, owners))
        grouped = owners[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = grouped[1:] != grouped[:-1]
        best = order[first]
        articles, best_scores, best_passages = owners[best], scores[best], passage_ids[best]
        # Ties: newer article first, then id (recency_rank already orders by both).
        ranking = np.lexsort((self.recency_rank[articles], -best_scores))
        return articles[ranking], best_scores[ranking], best_passages[ranking]

    def hit(self, article_position: int, score: float, passage_id: int, query_terms: Sequence[str]) -> Hit:
        """A Hit for an article, with a snippet of the given passage around the query terms."""
        passage = self.passages[passage_id]
        return Hit(
            article=self.articles[article_position],
            score=score,
            snippet=make_snippet(passage.text, set(query_terms)),
            passage=passage,
            topics=self.article_topics[article_position],
        )

    def lead_hit(self, article_position: int, query_terms: Sequence[str] = ()) -> Hit:
        """A Hit for an article without a search: its first passage (or the passage best matching terms)."""
        first = int(np.searchsorted(self.passage_article, article_position))
        passage_id = first
        if query_terms:
            wanted = set(query_terms)
            last = int(np.searchsorted(self.passage_article, article_position, side="right"))
            counts = [
                sum(term in wanted for term in terms(self.passages[p].text)) for p in range(first, last)
            ]
            if counts and max(counts) > 0:
                passage_id = first + counts.index(max(counts))
        return self.hit(article_position, 0.0, passage_id, query_terms)

    def latest(self, topic: str | None = None, *, limit: int = 5) -> list[Article]:
        """The newest articles, optionally only those of one topic slug."""
        if topic is None:
            order = np.argsort(self.recency_rank, kind="stable").tolist()
        else:
            order = sorted(self.topic_members.get(topic, ()), key=lambda p: int(self.recency_rank[p]))
        chosen = (int(i) for i in order)
        result: list[Article] = []
        for position in chosen:
            if len(result) >= limit:
                break
            result.append(self.articles[position])
        return result

    def topic_counts(self) -> list[tuple[Topic, int]]:
        """Each tracked topic with the number of articles about it."""
        return [(topic, len(self.topic_members.get(topic.slug, ()))) for topic in self.topics]


def article_token(article_id: str) -> str:
    """A short, stable, URL-safe stand-in for an article id (12 chars), for 64-byte button data."""
    digest = hashlib.blake2b(article_id.encode("utf-8"), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def recency_ranks(articles: Sequence[Article]) -> npt.NDArray[np.int64]:
    """Rank of each article by (newest first, undated last, then id)."""

    def key(position: int) -> tuple[int, float, str]:
        published = articles[position].published
        return (
            (1, 0.0, articles[position].id)
            if published is None
            else (0, -published.timestamp(), articles[position].id)
        )

    order = sorted(range(len(articles)), key=key)
    ranks = np.empty(len(articles), dtype=np.int64)
    ranks[np.asarray(order, dtype=np.int64)] = np.arange(len(articles), dtype=np.int64)
    return ranks


def build_library(
    corpus: Corpus,
    topics: Sequence[Topic],
    *,
    extra_problems: Sequence[Problem] = (),
    fingerprint: str = "",
    progress: Progress | None = None,
) -> Library:
    """Index a loaded corpus: split passages, analyse them, build BM25, resolve article topics."""
    started = time.perf_counter()
    matcher = TopicMatcher(topics)
    articles = corpus.articles
    passages: list[Passage] = []
    owners: list[int] = []
    tokenised: list[list[str]] = []
    for position, article in enumerate(articles):
        title_terms = terms(article.title)
        for passage in split_passages(article) or [Passage(article.id, 0, "", 0)]:
            passages.append(passage)
            owners.append(position)
            tokenised.append(title_terms + terms(passage.text))
        if progress is not None and (position % 500 == 0 or position == len(articles) - 1):
            progress("indexing", position + 1, len(articles))
    index = BM25Index.build(tokenised)
    article_topics = tuple(matcher.topics_of(article) for article in articles)
    members: dict[str, list[int]] = {topic.slug: [] for topic in topics}
    for position, slugs in enumerate(article_topics):
        for slug in slugs:
            members.setdefault(slug, []).append(position)
    return Library(
        articles=articles,
        problems=tuple(corpus.problems) + tuple(extra_problems),
        topics=tuple(topics),
        matcher=matcher,
        passages=tuple(passages),
        passage_article=np.asarray(owners, dtype=np.int32),
        index=index,
        article_topics=article_topics,
        topic_members={slug: tuple(positions) for slug, positions in members.items()},
        recency_rank=recency_ranks(articles),
        fingerprint=fingerprint,
        build_seconds=time.perf_counter() - started,
        _by_id={article.id: position for position, article in enumerate(articles)},
        _by_token={article_token(article.id): position for position, article in enumerate(articles)},
    )


def load_library(
    corpus_dir: Path,
    topics_path: Path,
    *,
    max_file_bytes: int = 5 * 1024 * 1024,
    progress: Progress | None = None,
) -> Library:
    """Load the corpus directory and topics file and index them into a new Library."""
    started = time.perf_counter()
    fingerprint = corpus_fingerprint(corpus_dir)

    def report_files(done: int, total: int) -> None:
        if progress is not None:
            progress("loading", done, total)

    corpus = load_corpus(corpus_dir, max_bytes=max_file_bytes, progress=report_files)
    topics, topic_problems = load_topics(topics_path)
    library = build_library(
        corpus, topics, extra_problems=topic_problems, fingerprint=fingerprint, progress=progress
    )
    return replace(library, build_seconds=time.perf_counter() - started)
