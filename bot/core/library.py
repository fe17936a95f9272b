"""The library: one immutable snapshot of articles, passages, topics and their BM25 index.

A reload builds a whole new Library and swaps it in with one assignment, so a reader never sees half
an index. Answers are per article: each article is represented by its best-scoring passage.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import overload

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

# SearchResult.total counts matching articles up to here: beyond it the count would cost more than the
# search, and "1,000+" says enough.
MATCH_COUNT_CAP = 1000

Progress = Callable[[str, int, int], None]

_TOP_PASSAGES_LIMIT = 4096  # past this many passages a full ranking is cheaper than a larger top k
_COUNT_CHUNK = 8192  # postings per step when counting matching articles

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_WORD = re.compile(r"\S+")


def split_passages(article: Article) -> list[Passage]:
    """Cut an article's body into passages of roughly 50–120 words, on paragraph then sentence bounds."""
    return [
        Passage(article_id=article.id, ordinal=number, text=article.body[start:end], start=start)
        for number, (start, end) in enumerate(passage_spans(article.body))
    ]


def passage_spans(body: str) -> list[tuple[int, int]]:
    """The (start, end) character spans split_passages cuts a body into."""
    merged: list[tuple[int, int]] = []
    merged_words = 0
    for start, end in _paragraph_spans(body):
        whole = _word_count(body, start, end)
        pieces = [(start, end)] if whole <= PASSAGE_MAX_WORDS else _windows(body, start, end)
        for piece_start, piece_end in pieces:
            words = whole if len(pieces) == 1 else _word_count(body, piece_start, piece_end)
            # Short paragraphs (one-line scraped paragraphs, lists) join the previous passage while it is
            # short. Pieces meet at whitespace, so word counts add up.
            if merged and merged_words < PASSAGE_MIN_WORDS and merged_words + words <= PASSAGE_MAX_WORDS:
                merged[-1] = (merged[-1][0], piece_end)
                merged_words += words
            else:
                merged.append((piece_start, piece_end))
                merged_words = words
    return merged


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
    # str.split() and the \S+ runs of _WORD agree on what whitespace is (str.isspace), and split is faster.
    return len(text[start:end].split())


def _windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one long paragraph into windows at sentence ends (at word ends for a giant sentence)."""
    word_starts = [match.start() for match in _WORD.finditer(text, start, end)]
    if len(word_starts) <= PASSAGE_MAX_WORDS:
        return [(start, end)]
    bounds = [start]
    bounds.extend(match.end() for match in _SENTENCE_END.finditer(text, start, end))
    if bounds[-1] != end:
        bounds.append(end)

    def words_before(position: int) -> int:
        # Bounds sit at word starts or at the end, so counting the words starting before them is exact.
        return bisect.bisect_left(word_starts, position)

    windows: list[tuple[int, int]] = []
    window_start = start
    for previous, current in pairwise(bounds):
        if words_before(current) - words_before(window_start) > PASSAGE_MAX_WORDS and previous > window_start:
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


class PassageTable(Sequence[Passage]):
    """Every passage of a library as character spans of its articles' bodies, made into Passages on demand.

    A million Passage objects would cost seconds to create and load; three spans per passage do not.
    """

    def __init__(
        self,
        articles: Sequence[Article],
        owners: npt.NDArray[np.int32],
        starts: npt.NDArray[np.int32],
        ends: npt.NDArray[np.int32],
    ) -> None:
        self.articles = articles
        self.owners = owners  # article position of each passage (non-decreasing)
        self.starts = starts  # character offsets of each passage in its article's body
        self.ends = ends
        # Position of each article's first passage: the ordinal is the distance from it.
        self._first = np.searchsorted(owners, np.arange(len(articles) + 1)).astype(np.int64)

    def __len__(self) -> int:
        return len(self.owners)

    @overload
    def __getitem__(self, index: int) -> Passage: ...

    @overload
    def __getitem__(self, index: slice) -> list[Passage]: ...

    def __getitem__(self, index: int | slice) -> Passage | list[Passage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self.owners)
        if not 0 <= index < len(self.owners):
            raise IndexError("passage index out of range")
        owner = int(self.owners[index])
        article = self.articles[owner]
        start, end = int(self.starts[index]), int(self.ends[index])
        ordinal = index - int(self._first[owner])
        return Passage(article_id=article.id, ordinal=ordinal, text=article.body[start:end], start=start)

    def of_article(self, position: int) -> range:
        """Indices of one article's passages."""
        return range(int(self._first[position]), int(self._first[position + 1]))


@dataclass(frozen=True, slots=True, eq=False)
class Library:
    """An immutable, searchable snapshot of the corpus."""

    articles: Sequence[Article]
    problems: tuple[Problem, ...]
    topics: tuple[Topic, ...]
    matcher: TopicMatcher
    passages: PassageTable
    passage_article: npt.NDArray[np.int32]  # article index of each passage
    index: BM25Index
    article_topics: Sequence[tuple[str, ...]]  # topic slugs per article
    recency_rank: npt.NDArray[np.int64]  # per article: 0 = newest (undated last, then by id)
    topic_members: dict[str, tuple[int, ...]] = field(default_factory=dict)  # slug → article positions
    fingerprint: str = ""
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    build_seconds: float = 0.0
    _by_id: dict[str, int] = field(default_factory=dict)
    _by_token: dict[str, int] = field(default_factory=dict)
    # Derived once: each passage's tie rank (its article's recency) and the articles newest first.
    _passage_rank: npt.NDArray[np.int64] = field(init=False, repr=False)
    _newest_first: npt.NDArray[np.int64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_passage_rank", self.recency_rank[self.passage_article])
        newest_first = np.empty(len(self.recency_rank), dtype=np.int64)
        newest_first[self.recency_rank] = np.arange(len(self.recency_rank), dtype=np.int64)
        object.__setattr__(self, "_newest_first", newest_first)

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
        """Articles that best answer a question, one per article with its best passage and a snippet.

        `total` counts the matching articles exactly up to MATCH_COUNT_CAP; at the cap it means "at least".
        """
        query_terms = tuple(terms(question))
        if not query_terms:
            return SearchResult(question, (), (), 0, hint=STOP_WORDS_ONLY_HINT)
        offset, limit = max(offset, 0), max(limit, 0)
        ranked, scores, best_passages = self.top_articles(query_terms, offset + limit)
        hits = tuple(
            self.hit(int(ranked[i]), float(scores[i]), int(best_passages[i]), query_terms)
            for i in range(offset, len(ranked))
        )
        return SearchResult(question, query_terms, hits, self.count_matches(query_terms))

    def top_articles(
        self, query_terms: Sequence[str], count: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """The best `count` matching articles, as rank_articles orders them, without ranking the rest."""
        empty = np.zeros(0, dtype=np.int64)
        if count <= 0:
            return empty, np.zeros(0, dtype=np.float64), empty
        # The best k passages hold the best articles in order, as long as they hold `count` distinct
        # ones (any article missing has its best passage further down); grow k until they do.
        wanted = 4 * count + 12
        while wanted <= _TOP_PASSAGES_LIMIT:
            found = self.index.top_k(query_terms, wanted, tie_rank=self._passage_rank)
            passage_ids = np.fromiter((p for p, _ in found), dtype=np.int64, count=len(found))
            owners = self.passage_article[passage_ids].astype(np.int64)
            _, first = np.unique(owners, return_index=True)
            if len(first) >= count or len(found) < wanted:
                first = np.sort(first)[:count]  # each article's best passage comes first
                passage_scores = np.fromiter((s for _, s in found), dtype=np.float64, count=len(found))
                return owners[first], passage_scores[first], passage_ids[first]
            wanted *= 4
        ranked, scores, passages = self.rank_articles(query_terms)
        return ranked[:count], scores[:count], passages[:count]

    def count_matches(self, query_terms: Sequence[str], cap: int | None = None) -> int:
        """How many articles hold any of the terms, counted exactly up to `cap` (MATCH_COUNT_CAP)."""
        cap = MATCH_COUNT_CAP if cap is None else cap
        lists = sorted((self.index.postings(term) for term in set(query_terms)), key=len)
        seen = np.zeros(self.article_count, dtype=bool)
        count = 0
        for docs in lists:
            for start in range(0, len(docs), _COUNT_CHUNK):
                owners = self.passage_article[docs[start : start + _COUNT_CHUNK]]
                fresh = owners[~seen[owners]]
                if len(fresh):
                    # A list's doc ids ascend, so its owners do: distinct owners are where they change.
                    count += 1 + int(np.count_nonzero(fresh[1:] != fresh[:-1]))
                    seen[fresh] = True
                if count >= cap:
                    return cap
        return count

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
        own = self.passages.of_article(article_position)
        passage_id = own.start
        if query_terms and len(own) > 1:
            wanted = set(query_terms)
            counts = [sum(term in wanted for term in terms(self.passages[p].text)) for p in own]
            if max(counts) > 0:
                passage_id = own.start + counts.index(max(counts))
        return self.hit(article_position, 0.0, passage_id, query_terms)

    def latest(self, topic: str | None = None, *, limit: int = 5) -> list[Article]:
        """The newest articles, optionally only those of one topic slug."""
        if limit <= 0:
            return []
        if topic is None:
            chosen = self._newest_first[:limit].tolist()
        else:
            members = np.asarray(self.topic_members.get(topic, ()), dtype=np.int64)
            ranks = self.recency_rank[members]
            chosen = members[np.argsort(ranks, kind="stable")[:limit]].tolist()
        return [self.articles[position] for position in chosen]

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
    # An article can mention a topic only if it holds every term of one of its aliases.
    alias_terms = {frozenset(words) for topic in topics for alias in topic.aliases if (words := terms(alias))}
    owners: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    tokenised: list[list[str]] = []
    article_topics: list[tuple[str, ...]] = []
    for position, article in enumerate(articles):
        title_terms = terms(article.title)
        held = set(title_terms)
        body = article.body
        for start, end in passage_spans(body) or [(0, 0)]:
            body_terms = terms(body[start:end])
            held.update(body_terms)
            owners.append(position)
            starts.append(start)
            ends.append(end)
            tokenised.append(title_terms + body_terms)
        mentions_any = article.tags or any(words <= held for words in alias_terms)
        article_topics.append(matcher.topics_of(article) if mentions_any else ())
        if progress is not None and (position % 500 == 0 or position == len(articles) - 1):
            progress("indexing", position + 1, len(articles))
    index = BM25Index.build(tokenised)
    del tokenised
    return assemble_library(
        articles,
        matcher,
        PassageTable(
            articles,
            np.asarray(owners, dtype=np.int32),
            np.asarray(starts, dtype=np.int32),
            np.asarray(ends, dtype=np.int32),
        ),
        index,
        tuple(article_topics),
        problems=tuple(corpus.problems) + tuple(extra_problems),
        fingerprint=fingerprint,
        build_seconds=time.perf_counter() - started,
    )


def assemble_library(
    articles: Sequence[Article],
    matcher: TopicMatcher,
    passages: PassageTable,
    index: BM25Index,
    article_topics: Sequence[tuple[str, ...]],
    *,
    problems: tuple[Problem, ...] = (),
    fingerprint: str = "",
    build_seconds: float = 0.0,
    loaded_at: datetime | None = None,
    recency_rank: npt.NDArray[np.int64] | None = None,
    article_ids: Sequence[str] | None = None,
    article_tokens: Sequence[str] | None = None,
) -> Library:
    """A Library from its parts (built here or read from a snapshot), with its lookup tables."""
    ids = [article.id for article in articles] if article_ids is None else article_ids
    tokens = [article_token(article_id) for article_id in ids] if article_tokens is None else article_tokens
    members: dict[str, list[int]] = {topic.slug: [] for topic in matcher.topics}
    for position, slugs in enumerate(article_topics):
        for slug in slugs:
            members.setdefault(slug, []).append(position)
    return Library(
        articles=articles,
        problems=problems,
        topics=matcher.topics,
        matcher=matcher,
        passages=passages,
        passage_article=passages.owners,
        index=index,
        article_topics=article_topics,
        topic_members={slug: tuple(positions) for slug, positions in members.items()},
        recency_rank=recency_ranks(articles) if recency_rank is None else recency_rank,
        fingerprint=fingerprint,
        loaded_at=datetime.now(UTC) if loaded_at is None else loaded_at,
        build_seconds=build_seconds,
        _by_id={article_id: position for position, article_id in enumerate(ids)},
        _by_token={token: position for position, token in enumerate(tokens)},
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
