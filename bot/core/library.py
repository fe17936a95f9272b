"""The library: one immutable snapshot of articles, passages, topics and their BM25 indexes.

A reload builds a whole new Library and swaps it in with one assignment, so a reader never sees half
an index. Answers are per article, ranked by three exact BM25Okapi scores fused into one: the whole
article (title and body: does it cover the question?), its best passage of 100–250 words (are the
question's words close together?) and its title alone (is the article about it?). A question the best
article covers too little of (see `relevance`) gets no answer at all.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import base64
import bisect
import functools
import hashlib
import math
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, overload

import numpy as np
import numpy.typing as npt

from bot.core import kernels
from bot.core.corpus import corpus_state, load_corpus
from bot.core.index import BM25Index, Postings, compiled_kernels
from bot.core.models import Article, Corpus, Hit, Passage, Problem, SearchResult, Snippet, StandIn, Topic
from bot.core.questions import Query, answer_measure, named_terms
from bot.core.segments import SegmentedIndex
from bot.core.snippets import make_snippet, states_measure
from bot.core.text import analyze, terms
from bot.core.topics import TopicMatcher, load_topics

# Passages aim for 100–250 words: long enough that BM25's length normalisation does not crown a
# one-sentence lead, short enough that the best passage of a long article is about what was asked.
PASSAGE_MIN_WORDS = 100
PASSAGE_MAX_WORDS = 250
# A passage shorter than this joins its neighbour even past PASSAGE_MAX_WORDS (a short lead, a last line).
SHORT_PASSAGE_WORDS = 40

# The fused article score: whole-article BM25 + PASSAGE_WEIGHT × best passage + TITLE_WEIGHT × title.
# Tuned on the dev split of bench/answers (python -m bench.answers --split dev).
PASSAGE_WEIGHT = 0.5
TITLE_WEIGHT = 0.25
# Snippets weigh question terms the title already shows at this share: the title is printed above the
# snippet, so the snippet's job is what the title does not say.
TITLE_TERM_SHARE = 0.5
# The relevance rule (see Library.relevance_of): the least share of the question's weight an article
# must hold to count as an answer at all. NEWSBOT_MIN_RELEVANCE overrides it.
MIN_RELEVANCE = 0.4
# ... and a question's term worth more than this share of its weight on its own must be in the best
# article, unless that article's fused score is CLEAR_LEAD times the runner-up's (Library.misses_the_point).
# Below HEAVY_TRUST_ARTICLES articles the share grows in proportion: a handful of articles says little
# about which words are rare, a few hundred enough (measured on the small archives of python -m
# bench.answers: from 1,000, as unseen words are trusted, to 250 silenced 7 and 9 more of the 57
# unanswerable questions at 235 and 533 articles, for one right answer of 208).
HEAVY_TERM_SHARE = 0.25
HEAVY_TRUST_ARTICLES = 250
CLEAR_LEAD = 2.0
# From this many articles on, a word the archive has never seen is taken to be rare rather than merely
# unseen: a handful of articles has not met most everyday words ("pull", "plug") yet.
UNSEEN_TRUST_ARTICLES = 1000
# ... but a name it has never seen (questions.named_terms: "Bitcoin", "iPhone") from this many on: by then
# its stories have met most names their subjects go by, while a handful has not (the Pentagon of a
# question about a story on the Department of Defense). Measured on archives of 13 to 1,218 BBC News
# articles: the small archives of `python -m bench.answers`.
UNSEEN_NAME_TRUST_ARTICLES = 50
# An undated story is held to a year after the archive's own present as to one no story names: the present
# is the last year named by at least PRESENT_YEAR_SHARE as many stories as the most-named year, once that
# one is named by PRESENT_MIN_STORIES (fewer tell nothing). BBC News of 2004–05 names 2004 in 390 stories,
# 2005 in 301 and 2006 in 105 (forecasts, plans): its present is 2005 at any share from 0.3 to 0.7.
PRESENT_YEAR_SHARE = 0.5
PRESENT_MIN_STORIES = 20
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
STOP_WORDS_ONLY_HINT = (
    "Your question has only very common words. Ask with a name, a product, a place or a number, "
    "e.g. “Sora daily losses” or “MIIT standards”."
)

# SearchResult.total counts matching articles up to here: beyond it the count would cost more than the
# search, and "1,000+" says enough.
MATCH_COUNT_CAP = 1000
_WEIGHTS_KEPT = 256  # questions whose term weights a library remembers

Progress = Callable[[str, int, int], None]

# From this many passages on, a library's first search has the search kernels compiled (bot/core/kernels.py):
# below it numpy answers in well under a millisecond and a short-lived process need not start numba.
COMPILE_FROM_PASSAGES = 20_000

# A question naming a year ranks this many stories at once (see _search), not just its page.
YEAR_PAGE_DEPTH = 16
_TOP_PASSAGES_LIMIT = 4096  # past this many passages a full ranking is cheaper than a larger top k
_COUNT_CHUNK = 8192  # postings per step when counting matching articles

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_WORD = re.compile(r"\S+")


def split_passages(article: Article) -> list[Passage]:
    """Cut an article's body into passages of roughly 100–250 words, on paragraph then sentence bounds."""
    return [
        Passage(article_id=article.id, ordinal=number, text=article.body[start:end], start=start)
        for number, (start, end) in enumerate(passage_spans(article.body))
    ]


def passage_spans(body: str) -> list[tuple[int, int]]:
    """The (start, end) character spans split_passages cuts a body into."""
    merged: list[list[int]] = []  # [start, end, words]
    for start, end in _paragraph_spans(body):
        whole = _word_count(body, start, end)
        pieces = [(start, end)] if whole <= PASSAGE_MAX_WORDS else _windows(body, start, end)
        for piece_start, piece_end in pieces:
            words = whole if len(pieces) == 1 else _word_count(body, piece_start, piece_end)
            # Short paragraphs (leads, one-line scraped paragraphs, lists) join the previous passage while
            # it is short. Pieces meet at whitespace, so word counts add up.
            if merged and merged[-1][2] < PASSAGE_MIN_WORDS and merged[-1][2] + words <= PASSAGE_MAX_WORDS:
                merged[-1][1:] = [piece_end, merged[-1][2] + words]
            else:
                merged.append([piece_start, piece_end, words])
    # What is still very short (a one-sentence lead before a long paragraph, a closing line) joins its
    # neighbour even past the maximum: alone it would win on length normalisation, not on content.
    number = 0
    while number < len(merged) and len(merged) > 1:
        start, end, words = merged[number]
        if words >= SHORT_PASSAGE_WORDS:
            number += 1
        elif number + 1 < len(merged):
            following = merged.pop(number + 1)
            merged[number] = [start, following[1], words + following[2]]
        else:
            previous = merged.pop(number - 1)
            merged[number - 1] = [previous[0], end, previous[2] + words]
            number -= 1
    return [(start, end) for start, end, _ in merged]


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


_Item = TypeVar("_Item")
_T = TypeVar("_T")


class LazySequence(Sequence[_Item]):
    """A sequence whose items are made (or found elsewhere) one at a time: indexes and slices are checked
    here, the item at a valid position is made by `_at`."""

    _item_name = "item"  # for the IndexError: "passage index out of range"

    @overload
    def __getitem__(self, index: int) -> _Item: ...

    @overload
    def __getitem__(self, index: slice) -> list[_Item]: ...

    def __getitem__(self, index: int | slice) -> _Item | list[_Item]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{self._item_name} index out of range")
        return self._at(index)

    def _at(self, index: int) -> _Item:
        raise NotImplementedError


class PassageTable(LazySequence[Passage]):
    """Every passage of a library as character spans of its articles' bodies, made into Passages on demand.

    A million Passage objects would cost seconds to create and load; three spans per passage do not.
    """

    _item_name = "passage"

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

    def _at(self, index: int) -> Passage:
        owner = int(self.owners[index])
        article = self.articles[owner]
        start, end = int(self.starts[index]), int(self.ends[index])
        ordinal = index - int(self._first[owner])
        return Passage(article_id=article.id, ordinal=ordinal, text=article.body[start:end], start=start)

    def of_article(self, position: int) -> range:
        """Indices of one article's passages."""
        return range(int(self._first[position]), int(self._first[position + 1]))

    def first_of(self, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Index of the first passage of each article position (positions may include len(articles))."""
        first: npt.NDArray[np.int64] = self._first[positions]
        return first


class CorpusFile(NamedTuple):
    """One corpus file as a library holds it."""

    stamp: str  # "size:mtime_ns" when it was read
    ids: tuple[str, ...]  # its articles in the library


def corpus_files(stamps: Mapping[str, str], articles: Sequence[Article]) -> dict[str, CorpusFile]:
    """Each file's stamp with the ids of the articles it gave."""
    ids: dict[str, list[str]] = {rel: [] for rel in stamps}
    for article in articles:
        if article.path in ids:
            ids[article.path].append(article.id)
    return {rel: CorpusFile(stamps[rel], tuple(found)) for rel, found in ids.items()}


@dataclass(frozen=True, slots=True, eq=False)
class Library:
    """An immutable, searchable snapshot of the corpus."""

    articles: Sequence[Article]
    problems: tuple[Problem, ...]
    topics: tuple[Topic, ...]
    matcher: TopicMatcher
    passages: PassageTable
    passage_article: npt.NDArray[np.int32]  # article index of each passage
    # An index is one BM25Index as built, or segments once articles came in or left (bot.core.segments).
    index: BM25Index | SegmentedIndex  # one document per passage (body text only)
    article_index: BM25Index | SegmentedIndex  # one document per article: title and body
    title_index: BM25Index | SegmentedIndex  # one document per article: the title alone
    article_topics: Sequence[tuple[str, ...]]  # topic slugs per article
    recency_rank: npt.NDArray[np.int64]  # per article: 0 = newest (undated last, then by id)
    topic_members: dict[str, tuple[int, ...]] = field(default_factory=dict)  # slug → article positions
    # The relevance rule's threshold for this view's answers (NEWSBOT_MIN_RELEVANCE; see relevance_of).
    min_relevance: float = MIN_RELEVANCE
    # Whether a large library's count may run beside its ranking on a helper thread (see _search).
    count_beside: bool = True
    fingerprint: str = ""
    # The corpus files the view holds: relative path → their stamp when read and the ids of their
    # articles (what an incremental reload compares and takes out; empty: unknown, reload in full).
    files: Mapping[str, CorpusFile] = field(default_factory=dict)
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    build_seconds: float = 0.0
    _by_id: dict[str, int] = field(default_factory=dict)
    _by_token: dict[str, int] = field(default_factory=dict)
    # Derived once: each passage's tie rank (its article's recency) and the articles newest first.
    _passage_rank: npt.NDArray[np.int64] = field(init=False, repr=False)
    _newest_first: npt.NDArray[np.int64] = field(init=False, repr=False)
    _years: list[npt.NDArray[np.int32]] = field(init=False, repr=False, default_factory=list)
    _present: list[int | None] = field(init=False, repr=False, default_factory=list)
    # For the compiled ranking: each article's first passage (and the end), the recency ranks, read-only;
    # per-thread scratch.
    _first_passages: npt.NDArray[np.int64] = field(init=False, repr=False)
    _recency: npt.NDArray[np.int64] = field(init=False, repr=False)
    _local: threading.local = field(init=False, repr=False, default_factory=threading.local)
    _shortest: list[tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]] = field(
        init=False, repr=False, default_factory=list
    )
    _parts: list[tuple[_FusedPart, ...] | None] = field(init=False, repr=False, default_factory=list)
    # The term weights of recent questions: one answer asks for them six times (the rule, the count,
    # each snippet).
    _weights: dict[tuple[tuple[str, ...], frozenset[str]], dict[str, float]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_passage_rank", self.recency_rank[self.passage_article])
        firsts = self.passages.first_of(np.arange(len(self.articles) + 1, dtype=np.int64))
        firsts.flags.writeable = False
        object.__setattr__(self, "_first_passages", firsts)
        recency = np.array(self.recency_rank, dtype=np.int64)
        recency.flags.writeable = False
        object.__setattr__(self, "_recency", recency)
        newest_first = np.empty(len(self.recency_rank), dtype=np.int64)
        newest_first[self.recency_rank] = np.arange(len(self.recency_rank), dtype=np.int64)
        object.__setattr__(self, "_newest_first", newest_first)

    def updated(self, **changes: Any) -> Library:
        """dataclasses.replace for a view of the same articles, keeping what was derived from them
        (replace alone starts those caches afresh, and remaking the years of an article view reads every
        article)."""
        if "articles" in changes:
            raise ValueError("updated() keeps the articles; make a new view for others")
        new = replace(self, **changes)
        new._years.extend(self._years)
        new._present.extend(self._present)
        return new

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

    def search(
        self, question: str, *, limit: int = 3, offset: int = 0, min_relevance: float | None = None
    ) -> SearchResult:
        """Articles that best answer a question, each with a snippet that holds the answer.

        Only articles that pass the relevance rule count (see relevance_of; `min_relevance` defaults to
        this library's): if the best article does not, the archive has no answer and there are no hits.
        `total` counts the articles that pass, exactly up to MATCH_COUNT_CAP; at the cap it means
        "at least".
        """
        threshold = self.min_relevance if min_relevance is None else min_relevance
        try:
            return self._search(question, limit, offset, threshold)
        finally:
            if len(self.passages) >= COMPILE_FROM_PASSAGES:
                # Once the first answer of a large library is out, compile the search kernels (or load
                # them from numba's cache) in the background; numpy answers, identically, until they are
                # ready. Not at load time: a process that only builds or checks a library never starts
                # numba, and the first answer does not share the interpreter with numba's import.
                kernels.prepare()

    def _search(self, question: str, limit: int, offset: int, min_relevance: float) -> SearchResult:
        """search() itself (the kernels aside)."""
        query = Query.of(question)
        if not query.terms:
            return SearchResult(question, (), (), 0, hint=STOP_WORDS_ONLY_HINT)
        # The rule judges the question as asked; a word no story holds that names a tracked topic
        # ("Pentagon") is ranked as the alias of that topic its stories hold ("DoD"): the topics file
        # says both mention it, but not that they are the same thing ("DeepSeek" is one of "China tech").
        asked = query.terms
        stand_ins = self.topic_stand_ins(question, asked)
        if stand_ins:
            standing = {term: alias_terms for term, (_, alias_terms) in stand_ins.items()}
            query = Query(
                query.text, tuple(t for term in asked for t in standing.get(term, (term,))), query.wants
            )
        # The words written as names weigh apart only while unseen words weigh less (see term_weights).
        names = named_terms(question) if self.article_count < UNSEEN_TRUST_ARTICLES else frozenset()
        offset, limit = max(offset, 0), max(limit, 0)
        wanted = offset + limit
        counting, plan = None, None
        large = len(self.passages) >= COMPILE_FROM_PASSAGES
        if self.count_beside and min_relevance > 0 and large and compiled_kernels():
            # The count does not depend on the ranking: on a large library its reading runs beside it,
            # on the other core, when the helper thread is free (its kernel, like the ranking's, lets go
            # of the GIL; what needs the interpreter is done here first). Its answer is only read once
            # the best article has passed the rule.
            plan = self.plan_count(asked, min_relevance, names=names)
            if plan is not None:
                counting = _BESIDE.run(functools.partial(self.read_relevant, plan))
        # A question naming a year often finds stories of other years first, which the rule then sets
        # aside: a deeper first page costs the ranking little, ranking every story that passes far more.
        depth = max(wanted, YEAR_PAGE_DEPTH if min_relevance > 0 and years_named(asked) else 2)
        ranked, scores, best_passages = self.top_articles(query.terms, depth)
        relevance = self.relevance_of(asked, ranked, names=names)
        # The gate: the best article must hold enough of the question, and what it turns on, or the
        # archive has no answer.
        if not len(ranked) or relevance[0] < min_relevance:
            return self._nothing(question, asked)
        if min_relevance > 0 and self.misses_the_point(asked, int(ranked[0]), scores, names=names):
            return self._nothing(question, asked)
        measure = answer_measure(question) if min_relevance > 0 else None
        if measure is not None and not states_measure(self.articles[int(ranked[0])].body, measure):
            # "How much did it cost?" of a story that names no sum of money at all.
            return self._nothing(question, asked)
        relevant: npt.NDArray[np.int64] | None = None
        if counting is not None:
            relevant = counting.result()
        elif plan is not None:
            relevant = self.read_relevant(plan)  # (the helper was busy)
        elif min_relevance > 0:
            relevant = self.relevant_articles(asked, min_relevance, names=names)
        total = (
            len(relevant) if relevant is not None else self.count_relevant(asked, min_relevance, names=names)
        )
        keep = relevance >= min_relevance
        if int(keep.sum()) < min(wanted, total) and len(ranked) == depth:
            # Weaker matches crowded this page out. When every article that passes is known (fewer
            # than the cap), rank just those: looking further down the whole ranking instead could
            # mean ranking most of the archive for a long question of common words.
            if relevant is not None and total < MATCH_COUNT_CAP:
                ranked, scores, best_passages = self._ranked_among(query.terms, relevant)
                keep = self.relevance_of(asked, ranked, names=names) >= min_relevance
            while int(keep.sum()) < min(wanted, total) and len(ranked) == depth:
                depth *= 4  # look further down
                ranked, scores, best_passages = self.top_articles(query.terms, depth)
                keep = self.relevance_of(asked, ranked, names=names) >= min_relevance
        ranked, scores, best_passages = ranked[keep], scores[keep], best_passages[keep]
        hits = tuple(
            self.hit(int(ranked[i]), float(scores[i]), int(best_passages[i]), query)
            for i in range(offset, min(offset + limit, len(ranked)))
        )
        # Words no story holds, shown with the answers too (the stories answer the rest of the question),
        # but only those that tell: every one from UNSEEN_TRUST_ARTICLES stories on (where each weighs in
        # full), below that the names. A few stories lack most everyday words ("money" of four stories
        # that say "$1 million"), and naming them over a right answer would only cast doubt on it.
        unknown: tuple[str, ...] = ()
        if any(self._unseen(t) for t in asked):
            unknown = self.unknown_words(
                question,
                among=None if self.article_count >= UNSEEN_TRUST_ARTICLES else {*names, *stand_ins},
            )
        total = max(total, min(len(ranked), MATCH_COUNT_CAP))
        shown = tuple(stand_in for stand_in, _ in stand_ins.values())
        return SearchResult(question, query.terms, hits, total, unknown=unknown, stand_ins=shown)

    def _nothing(self, question: str, query_terms: tuple[str, ...]) -> SearchResult:
        """No answer: with the question's words no story holds, which often say why."""
        return SearchResult(question, query_terms, (), 0, unknown=self.unknown_words(question))

    def topic_stand_ins(
        self, question: str, query_terms: Sequence[str]
    ) -> dict[str, tuple[StandIn, tuple[str, ...]]]:
        """For each of the question's terms that no story holds and that is, on its own, an alias of a
        tracked topic with stories: another alias of that topic to rank the stories by in its place
        (the relevance rule still weighs the word as asked: see _search), with its terms. Of the
        aliases whose every term some of the topic's stories hold: the one most of them hold, then the
        most specific (its commonest term in the fewest stories), the shortest, the first in the topics
        file.

        The topics file lists the words that count as a mention of each topic, so an archive that never
        says "Pentagon" but tags stories with the topic of "Pentagon" by their "Department of Defense"
        puts them first for "What did OpenAI agree with the Pentagon?"."""
        unseen = [
            term for term in dict.fromkeys(query_terms) if self.matcher.named_by(term) and self._unseen(term)
        ]
        if not unseen:
            return {}
        typed = {token.term: question[token.start : token.end] for token in reversed(analyze(question))}
        found: dict[str, tuple[StandIn, tuple[str, ...]]] = {}
        for term in unseen:
            best: tuple[tuple[int, int, int, int], StandIn, tuple[str, ...]] | None = None
            for topic in self.matcher.named_by(term):
                members = np.asarray(sorted(self.topic_members.get(topic.slug, ())), dtype=np.int64)
                if not len(members):
                    continue
                for place, (alias, alias_terms) in enumerate(self.matcher.aliases(topic.slug)):
                    if term in alias_terms or any(map(self._unseen, alias_terms)):
                        continue
                    holding = np.ones(len(members), dtype=np.bool_)
                    for alias_term in alias_terms:
                        holding &= self.article_index.holds(alias_term, members)
                    held_by = int(holding.sum())
                    if not held_by:
                        continue
                    commonest = max(self.article_index.doc_freq(t) for t in alias_terms)
                    key = (-held_by, commonest, len(alias_terms), place)
                    if best is None or key < best[0]:
                        best = (key, StandIn(typed.get(term, term), alias, topic.name), alias_terms)
            if best is not None:
                found[term] = (best[1], best[2])
        return found

    def _unseen(self, term: str) -> bool:
        """Whether no story holds the term."""
        return not self.article_index.doc_freq(term)

    def unknown_words(self, question: str, among: Collection[str] | None = None) -> tuple[str, ...]:
        """The question's words that no story holds (no word of the same term), as typed, in order, one
        per term: "Zorblax" in "Which district gets Zorblax bins?"; only those whose term is `among`
        the given ones, when given."""
        words: list[str] = []
        met: set[str] = set()
        for token in analyze(question):
            if token.term not in met and (among is None or token.term in among) and self._unseen(token.term):
                words.append(question[token.start : token.end])
            met.add(token.term)
        return tuple(words)

    # --- relevance -------------------------------------------------------------------------------

    def term_weights(
        self, query_terms: Sequence[str], names: Collection[str] = frozenset()
    ) -> dict[str, float]:
        """Each distinct query term's weight: its idf over articles, log(1 + (N - df + 0.5) / (df + 0.5)).

        Always positive (unlike BM25Okapi's idf, which a term in half the archive drives to zero), and
        largest for a term the archive has never seen: a question about something the archive does
        not know weighs heavily on what it cannot cover. A small archive has not seen most everyday
        words either, so an unseen term's weight grows with the archive, reaching the full value at
        UNSEEN_TRUST_ARTICLES articles. One of `names`, a term the question writes as a name
        (questions.named_terms: "Bitcoin", "iPhone"), reaches it far sooner, at
        UNSEEN_NAME_TRUST_ARTICLES: a few dozen stories that never met a name do not cover what is asked
        about it, while they may well not have met "overrun" or "dodgy" in a question they answer.
        """
        key = (tuple(query_terms), frozenset(names))
        known = self._weights.get(key)
        if known is None:
            n = self.article_count
            trust = min(1.0, n / UNSEEN_TRUST_ARTICLES)
            name_trust = min(1.0, n / UNSEEN_NAME_TRUST_ARTICLES)
            known = {}
            for term in key[0]:
                df = self.article_index.doc_freq(term)
                weight = math.log(1 + (n - df + 0.5) / (df + 0.5))
                if not df:
                    weight *= name_trust if term in key[1] else trust
                known[term] = weight
            if len(self._weights) >= _WEIGHTS_KEPT:
                self._weights.clear()
            self._weights[key] = known
        return dict(known)  # (a copy: callers may change theirs)

    def relevance_of(
        self,
        query_terms: Sequence[str],
        positions: npt.NDArray[np.int64],
        *,
        names: Collection[str] = frozenset(),
    ) -> npt.NDArray[np.float64]:
        """For each article position: the share of the question's term weight the article holds (0 to 1),
        or 0 where it lacks a year the question names.

        The relevance rule: an article answers a question only if it holds at least MIN_RELEVANCE
        (NEWSBOT_MIN_RELEVANCE) of that weight, and every year the question names unless it was
        published in it (an undated article is held to a year some story names as to any other term,
        and fails for a year no story names or one after the archive's present: see present_year). One
        shared word with a long question is not an answer, and neither is a story about the 2004 final
        for a question about the 2022 one. The best article must also hold the word the question turns
        on (see misses_the_point). `names`: the terms the question writes as names (see term_weights).
        """
        weights = self.term_weights(query_terms, names)
        total = sum(weights.values())
        held = np.zeros(len(positions), dtype=np.float64)
        if total <= 0 or not len(positions):
            return held
        order = np.argsort(positions, kind="stable")
        docs = positions[order]
        held[order] = self.article_index.held_weights(weights, docs)
        dated, unnamed = self._named_years(weights)
        for term, year in dated.items():
            # A dated story lacking the year is from another year; an undated one may still be from
            # it, unless the year is beyond the archive (no story names it, or after its present).
            years = self.publication_years()[docs]
            unknown = (years >= 0) | (term in unnamed)
            lacking = ~self.article_index.holds(term, docs) & (years != year) & unknown
            held[order[lacking]] = -math.inf  # the question's year is not this story's
        relevance: npt.NDArray[np.float64] = np.maximum(held / total, 0.0)
        return relevance

    def misses_the_point(
        self,
        query_terms: Sequence[str],
        position: int,
        scores: npt.NDArray[np.float64],
        *,
        names: Collection[str] = frozenset(),
    ) -> bool:
        """Whether the best article (at `position`, `scores` the fused scores best first) lacks a term
        worth more than HEAVY_TERM_SHARE of the question's weight on its own (more in an archive under
        HEAVY_TRUST_ARTICLES articles, unless it is one of `names` no story holds) without leading the
        runner-up by CLEAR_LEAD.

        A question turns on its heaviest word ("weigh" in "How much does the Mac mini weigh?"): when the
        archive's best matches are close to each other and the best lacks that word, they are stories on
        the subject that do not say what is asked. A best match well ahead of the rest is about the
        question, and the word is likely put otherwise there (a synonym, another form of a name).
        """
        weights = self.term_weights(query_terms, names)
        total = sum(weights.values())
        heavy = HEAVY_TERM_SHARE * total / min(1.0, self.article_count / HEAVY_TRUST_ARTICLES)
        # ... but a name no story holds is as telling in a small archive as in a large one once it weighs
        # as much (see term_weights), so from then on it turns the question at the plain share.
        trusted = self.article_count >= UNSEEN_NAME_TRUST_ARTICLES
        unmet = {t for t in names if t in weights and self._unseen(t)} if trusted else set()
        best = np.asarray([position], dtype=np.int64)
        turning = [t for t, w in weights.items() if w > (HEAVY_TERM_SHARE * total if t in unmet else heavy)]
        if all(self.article_index.holds(t, best)[0] for t in turning):
            return False
        runner_up = float(scores[1]) if len(scores) > 1 else 0.0
        leads = float(scores[0]) > 0 and float(scores[0]) >= CLEAR_LEAD * max(runner_up, 0.0)
        return not leads

    def _named_years(self, query_terms: Iterable[str]) -> tuple[dict[str, int], set[str]]:
        """The question's terms naming a year (→ that year), and those of them beyond the archive: no
        story holds it, or it is after the archive's present (see present_year)."""
        dated = years_named(query_terms)
        present = self.present_year() if dated else None
        return dated, {
            term
            for term, year in dated.items()
            if self._unseen(term) or (present is not None and year > present)
        }

    def present_year(self) -> int | None:
        """The archive's own present as the years its stories name tell it: the last year named by at
        least PRESENT_YEAR_SHARE as many stories as the most-named year; None when that one is named by
        fewer than PRESENT_MIN_STORIES. A later year is named only in forecasts and plans, and a story
        that does not name it cannot say what happened then. Made once per view."""
        if not self._present:
            named = {year: self.article_index.doc_freq(str(year)) for year in range(1800, 2100)}
            most = max(named.values())
            present = None
            if most >= PRESENT_MIN_STORIES:
                present = max(year for year, count in named.items() if count >= PRESENT_YEAR_SHARE * most)
            self._present.append(present)
        return self._present[0]

    def publication_years(self) -> npt.NDArray[np.int32]:
        """Each article's year of publication in its own time zone (-1 when undated), made once."""
        if not self._years:
            self._years.append(_publication_years(self.articles))
        return self._years[0]

    def relevance(self, query_terms: Sequence[str], position: int) -> float:
        """The share of the question's term weight one article holds (see relevance_of)."""
        return float(self.relevance_of(query_terms, np.asarray([position], dtype=np.int64))[0])

    def count_relevant(
        self,
        query_terms: Sequence[str],
        min_relevance: float,
        cap: int | None = None,
        *,
        names: Collection[str] = frozenset(),
    ) -> int:
        """How many articles hold at least min_relevance of the question, exactly up to `cap`."""
        cap = MATCH_COUNT_CAP if cap is None else cap
        if min_relevance > 0:
            return len(self.relevant_articles(query_terms, min_relevance, cap, names=names))
        weights = self.term_weights(query_terms)
        if sum(weights.values()) <= 0:
            return 0
        return self.count_matches(query_terms, cap)

    def relevant_articles(
        self,
        query_terms: Sequence[str],
        min_relevance: float,
        cap: int | None = None,
        *,
        names: Collection[str] = frozenset(),
    ) -> npt.NDArray[np.int64]:
        """The positions (ascending, the first `cap`) of the articles holding at least min_relevance (> 0)
        of the question: all of them when fewer than `cap` are returned.

        An article missing terms worth more than 1 - min_relevance of the weight fails, so it must hold
        one of the heaviest terms that together exceed that: only their lists are read.
        """
        plan = self.plan_count(query_terms, min_relevance, cap, names=names)
        return self.read_relevant(plan) if plan is not None else np.zeros(0, dtype=np.int64)

    def plan_count(
        self,
        query_terms: Sequence[str],
        min_relevance: float,
        cap: int | None = None,
        *,
        names: Collection[str] = frozenset(),
    ) -> CountPlan | None:
        """relevant_articles' first step, in the asking thread: the question's weights, the lists to read
        and the years; None when no article can pass. read_relevant does the reading, which holds no
        lock of the interpreter's when compiled, so that it can run beside the ranking."""
        cap = MATCH_COUNT_CAP if cap is None else cap
        weights = self.term_weights(query_terms, names)
        total = sum(weights.values())
        if total <= 0 or cap <= 0:
            return None
        heaviest = sorted(weights, key=lambda t: (-weights[t], t))
        needed: list[str] = []
        missing = 0.0
        for term in heaviest:
            needed.append(term)
            missing += weights[term]
            if missing > (1 - min_relevance) * total * (1 + 1e-12):
                break
        dated, unnamed = self._named_years(weights)
        years = self.publication_years() if dated else None
        return CountPlan(
            tuple(query_terms),
            frozenset(names),
            weights,
            tuple(needed),
            min_relevance,
            cap,
            dated,
            unnamed,
            years,
        )

    def read_relevant(self, plan: CountPlan) -> npt.NDArray[np.int64]:
        """relevant_articles' second step (see plan_count): read the lists."""
        # The compiled count applies relevance_of's whole rule (the share and the years: tests hold the
        # two to the same articles); without the kernels, the lists are read here.
        holding = self.article_index.docs_holding(
            plan.weights,
            plan.needed,
            plan.share,
            plan.cap,
            dated=plan.dated,
            unnamed=plan.unnamed,
            years=plan.years,
            marks=self._fused_scratch()[2],  # (this thread's: zeros, as fused_top leaves them)
        )
        if holding is not None:
            return np.asarray(holding, dtype=np.int64)
        lists = [self.article_index.postings(term) for term in plan.needed]
        lists = [docs for docs in lists if len(docs)]
        if not lists:
            return np.zeros(0, dtype=np.int64)
        candidates = np.unique(np.concatenate(lists)).astype(np.int64)
        parts: list[npt.NDArray[np.int64]] = []
        counted = 0
        for start in range(0, len(candidates), _COUNT_CHUNK):
            chunk = candidates[start : start + _COUNT_CHUNK]
            passing = chunk[self.relevance_of(plan.terms, chunk, names=plan.names) >= plan.share]
            parts.append(passing[: plan.cap - counted])
            counted += len(parts[-1])
            if counted >= plan.cap:
                break
        return np.concatenate(parts)

    # --- ranking ---------------------------------------------------------------------------------

    def top_articles(
        self, query_terms: Sequence[str], count: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """The best `count` matching articles as rank_articles orders them, without ranking the rest.

        With the compiled kernels, one pass over the question's lists (kernels.fused_top). Otherwise,
        and as its reference, a threshold algorithm over the three rankings: take the top n of the
        article, passage and title indexes and stop once the count-th best fused score found beats the
        most an article outside all three lists could reach (each list's last score, weighted). Until
        then one list at a time is read four times deeper: the one whose last score weighs most for
        what it costs to read. Only the articles found whose bound (their listed scores, the last scores
        elsewhere) reaches the count-th best so far are scored exactly.
        """
        empty = np.zeros(0, dtype=np.int64)
        if count <= 0 or not query_terms:
            return empty, np.zeros(0, dtype=np.float64), empty
        compiled = self._compiled_top(query_terms, count)
        if compiled is not None:
            return compiled
        indexes = (self.article_index, self.index, self.title_index)
        ties = (self.recency_rank, self._passage_rank, self.recency_rank)
        depths = [4 * count + 12] * 3
        lists = [index.top_k(query_terms, depths[i], tie_rank=ties[i]) for i, index in enumerate(indexes)]
        exact: dict[int, tuple[float, int]] = {}  # article position → (fused score, best passage)
        least = -math.inf  # the count-th best fused score among those scored exactly
        while True:
            full = [len(found) == depth for found, depth in zip(lists, depths, strict=True)]
            last = [found[-1][1] if is_full else 0.0 for found, is_full in zip(lists, full, strict=True)]
            whole = {doc: score for doc, score in lists[0]}
            titles = {doc: score for doc, score in lists[2]}
            passages: dict[int, float] = {}
            owners = self.passage_article[[p for p, _ in lists[1]]].tolist() if lists[1] else []
            for owner, (_, score) in zip(owners, lists[1], strict=True):
                passages.setdefault(owner, score)  # best first: the first is the article's best
            fresh = []
            for doc in whole.keys() | titles.keys() | passages.keys():
                if doc in exact:
                    continue
                bound = (
                    whole.get(doc, last[0])
                    + PASSAGE_WEIGHT * max(passages.get(doc, last[1]), last[1])
                    + TITLE_WEIGHT * titles.get(doc, last[2])
                )
                if bound + abs(bound) * 1e-9 + 1e-12 >= least:  # (rounding must not drop a tie)
                    fresh.append(doc)
            if fresh:
                positions = np.asarray(sorted(fresh), dtype=np.int64)
                fused, best = self._fuse(query_terms, positions)
                scored = zip(fused.tolist(), best.tolist(), strict=True)
                exact.update(zip(positions.tolist(), scored, strict=True))
            if not exact:
                return empty, np.zeros(0, dtype=np.float64), empty
            positions = np.fromiter(exact, dtype=np.int64, count=len(exact))
            fused = np.fromiter((exact[d][0] for d in exact), dtype=np.float64, count=len(exact))
            order = np.lexsort((self.recency_rank[positions], -fused))
            if len(order) >= count:
                least = float(fused[order[count - 1]])
            ceiling = last[0] + PASSAGE_WEIGHT * last[1] + TITLE_WEIGHT * last[2]
            if not any(full) or (len(order) >= count and least > ceiling):
                chosen = order[:count]
                best_passage = np.asarray([exact[int(d)][1] for d in positions[chosen]], dtype=np.int64)
                return positions[chosen], fused[chosen], best_passage
            # Deepen the list whose weighted last score is largest for its cost (titles are short,
            # passages many: about 1 : 3 : 5 for titles, articles, passages).
            worth = [
                weight * score / cost if is_full and depth * 4 <= _TOP_PASSAGES_LIMIT else -math.inf
                for weight, score, cost, is_full, depth in zip(
                    (1.0, PASSAGE_WEIGHT, TITLE_WEIGHT), last, (3.0, 5.0, 1.0), full, depths, strict=True
                )
            ]
            deepest = max(range(3), key=worth.__getitem__)
            if worth[deepest] == -math.inf:
                break
            depths[deepest] *= 4
            lists[deepest] = indexes[deepest].top_k(query_terms, depths[deepest], tie_rank=ties[deepest])
        ranked, scores, best_passages = self.rank_articles(query_terms)
        return ranked[:count], scores[:count], best_passages[:count]

    def _compiled_top(
        self, query_terms: Sequence[str], count: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]] | None:
        """top_articles in one compiled pass (kernels.fused_top), or None where that pass does not apply:
        no kernels yet, a term whose idf is not positive, tf types it was not compiled for, or a bound
        found broken while scoring (the pass relies on each passage and title holding a term at most
        as often as its article, as the library's three indexes of one analysed text do)."""
        fast = compiled_kernels()
        if fast is None or count > _TOP_PASSAGES_LIMIT:
            return None
        parts = self._fused_parts()
        if parts is None:
            return None
        acc, seen, flag = self._fused_scratch()
        shortest, norm_of_level = self._shortest_passages()
        weights = np.asarray([PASSAGE_WEIGHT, TITLE_WEIGHT], dtype=np.float64)
        found: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]] = []
        least = -math.inf  # the count-th best score found so far (segments: the largest is asked first)
        for part in sorted(parts, key=lambda part: -part.articles):
            indexes = (part.whole, part.passages, part.titles)
            whole_ids = [part.whole.term_id(term) for term in query_terms]
            slots = [q for q, tid in enumerate(whole_ids) if tid >= 0]
            if not slots and found:
                continue  # (no article here holds a term of the question)
            ids = [whole_ids, *([index.term_id(term) for term in query_terms] for index in indexes[1:])]
            if any(ids[0][q] < 0 and (ids[1][q] >= 0 or ids[2][q] >= 0) for q in range(len(query_terms))):
                return None
            if not slots:
                continue
            if found:
                most = (
                    part.whole.score_bound(ids[0])
                    + PASSAGE_WEIGHT * part.passages.score_bound(ids[1])
                    + TITLE_WEIGHT * part.titles.score_bound(ids[2])
                )
                if most + abs(most) * 1e-9 + 1e-12 < least:
                    continue  # no article of this segment can reach the page (rounding kept aside)
            if any(index.weak([i for i in held if i >= 0]) for index, held in zip(indexes, ids, strict=True)):
                return None
            arrays = [index.postings_arrays for index in indexes]
            if tuple(a.tfs.dtype.type for a in arrays) not in kernels.FUSED_TFS:
                return None
            whole, passages, titles = arrays
            end = part.first_article + part.articles
            positions, scores, best, trusted = fast.fused_top(
                *(np.asarray([held[q] for q in slots], dtype=np.int64) for held in ids),
                count,
                weights,
                part.widen,
                *_kernel_arrays(whole, impacts=True),
                *_kernel_arrays(passages),
                *_kernel_arrays(titles),
                part.first_passages,
                whole.k1_plus_1,
                whole.step,
                self._recency[part.first_article : end],
                shortest[part.first_article : end],
                norm_of_level,
                acc[part.first_article : end],
                seen[part.first_article : end],
                flag[part.first_article : end],
            )
            if not trusted:
                return None
            found.append((positions + part.first_article, scores, best + part.first_passage))
            if len(parts) > 1:
                so_far = np.concatenate([f[1] for f in found])
                if len(so_far) >= count:
                    least = float(np.partition(so_far, len(so_far) - count)[len(so_far) - count])
        if len(found) == 1:
            return found[0]
        if not found:
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0, dtype=np.float64), empty
        # Each segment's best `count` holds every one of its articles in the overall best `count`.
        positions = np.concatenate([f[0] for f in found])
        scores = np.concatenate([f[1] for f in found])
        best = np.concatenate([f[2] for f in found])
        order = np.lexsort((self._recency[positions], -scores))[:count]
        return positions[order], scores[order], best[order]

    def _fused_parts(self) -> tuple[_FusedPart, ...] | None:
        """The library's three indexes as the compiled pass reads them: one part as built, or one per
        segment when the three are segmented alike (the same articles in each segment of each, no dead
        ones, bounds finite); None where the pass does not apply. Made once per view."""
        if self._parts:
            return self._parts[0]
        parts = _fused_parts(self.article_index, self.index, self.title_index, self._first_passages)
        self._parts.append(parts)
        return parts

    def _fused_scratch(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
        """fused_top's scratch for this thread, handed back as it came: a bound per article (zeros), room
        for the articles met, and flags (zeros)."""
        scratch: tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.uint8]] | None
        scratch = getattr(self._local, "fused", None)
        if scratch is None:
            n = self.article_count
            scratch = (
                np.zeros(n, dtype=np.float32),
                np.zeros(n, dtype=np.int32),
                np.zeros(n, dtype=np.uint8),
            )
            self._local.fused = scratch
        return scratch

    def _shortest_passages(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
        """Each article's shortest passage as a level of BM25 length norm (one byte), and the norm of each
        level, at most that of every article at that level, so it bounds their passage weights from
        above; the last level (inf) stands for no passage. Made once, in about 10 ms at 1M passages."""
        if not self._shortest:
            floor = np.full(self.article_count, np.inf, dtype=np.float64)
            np.minimum.at(floor, self.passage_article, _passage_norms(self.index))
            finite = np.isfinite(floor)
            low = float(floor[finite].min()) if finite.any() else 1.0
            high = float(floor[finite].max()) if finite.any() else 1.0
            level = np.full(self.article_count, 255, dtype=np.int64)
            if 0 < low < high:
                # 255 levels evenly spaced in ratio: about 1% apart at a million passages.
                norm_of_level = np.append(np.geomspace(low, high, 255), np.inf)
                norm_of_level[0] = low
                steps = np.log(floor[finite] / low) * (254 / math.log(high / low))
                level[finite] = np.clip(np.floor(steps), 0, 254)
            else:
                norm_of_level = np.append(np.full(255, low), np.inf)
                level[finite] = 0
            while True:  # float rounding may put an article one level above its norm: step it down
                above = norm_of_level[level] > floor
                if not above.any():
                    break
                level[above] -= 1
            shortest = level.astype(np.uint8)
            for array in (shortest, norm_of_level):
                array.flags.writeable = False
            self._shortest.append((shortest, norm_of_level))
        return self._shortest[0]

    def rank_articles(
        self, query_terms: Sequence[str]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """All matching articles, best fused score first: (article positions, scores, best passage of each).

        Ties go to the newer article, then the id (recency_rank orders by both).
        """
        matched, _ = self.article_index.match(query_terms)
        empty = np.zeros(0, dtype=np.int64)
        if len(matched) == 0:
            return empty, np.zeros(0, dtype=np.float64), empty
        return self._ranked_among(query_terms, np.asarray(matched, dtype=np.int64))

    def _ranked_among(
        self, query_terms: Sequence[str], positions: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """The given (ascending) article positions in rank_articles' order, with scores and best passages."""
        if not len(positions):
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0, dtype=np.float64), empty
        fused, best = self._fuse(query_terms, positions)
        order = np.lexsort((self.recency_rank[positions], -fused))
        return positions[order], fused[order], best[order]

    def _fuse(
        self, query_terms: Sequence[str], positions: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Fused scores of the given (ascending) article positions, and each one's best passage."""
        whole = self.article_index.scores_of(query_terms, positions)
        titles = self.title_index.scores_of(query_terms, positions)
        firsts = self.passages.first_of(positions)
        lasts = self.passages.first_of(positions + 1)
        sizes = lasts - firsts
        # Every passage of every article, article after article: firsts[i], firsts[i] + 1, … lasts[i] - 1.
        passage_ids = np.repeat(firsts - (np.cumsum(sizes) - sizes), sizes) + np.arange(
            int(sizes.sum()), dtype=np.int64
        )
        passage_scores = self.index.scores_of(query_terms, passage_ids)
        # Best passage per article: highest score, the earlier passage on a tie.
        owner = np.repeat(np.arange(len(positions)), sizes)
        order = np.lexsort((passage_ids, -passage_scores, owner))
        first = np.ones(len(order), dtype=bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        best_of = order[first]
        best_passage = np.full(len(positions), -1, dtype=np.int64)
        best_score = np.zeros(len(positions), dtype=np.float64)
        best_passage[owner[best_of]] = passage_ids[best_of]
        best_score[owner[best_of]] = passage_scores[best_of]
        missing = best_passage < 0
        best_passage[missing] = firsts[missing]
        fused = whole + PASSAGE_WEIGHT * best_score
        fused += TITLE_WEIGHT * titles
        return fused, best_passage

    def count_matches(self, query_terms: Sequence[str], cap: int | None = None) -> int:
        """How many articles hold any of the terms, counted exactly up to `cap` (MATCH_COUNT_CAP)."""
        cap = MATCH_COUNT_CAP if cap is None else cap
        lists = sorted((self.article_index.postings(term) for term in set(query_terms)), key=len)
        seen = np.zeros(self.article_count, dtype=bool)
        count = 0
        for docs in lists:
            for start in range(0, len(docs), _COUNT_CHUNK):
                chunk = docs[start : start + _COUNT_CHUNK]
                fresh = chunk[~seen[chunk]]
                count += len(fresh)
                seen[fresh] = True
                if count >= cap:
                    return cap
        return count

    # --- hits ------------------------------------------------------------------------------------

    def hit(self, article_position: int, score: float, passage_id: int, query: Query | Sequence[str]) -> Hit:
        """A Hit for an article, with the snippet of its whole body that best answers the query."""
        if not isinstance(query, Query):
            query = Query(" ".join(query), tuple(query))
        article = self.articles[article_position]
        return Hit(
            article=article,
            score=score,
            snippet=self.snippet(article, query),
            passage=self.passages[passage_id],
            topics=self.article_topics[article_position],
        )

    def snippet(self, article: Article, query: Query) -> Snippet:
        """The excerpt of the article that best answers the query (its opening when nothing matches)."""
        weights = self.term_weights(query.terms)
        shown = set(terms(article.title))
        for term in weights.keys() & shown:
            weights[term] *= TITLE_TERM_SHARE
        return make_snippet(article.body, weights, wants=query.wants, question=query.text)

    def lead_hit(self, article_position: int, query_terms: Sequence[str] = (), *, score: float = 0.0) -> Hit:
        """A Hit for an article without a search: the excerpt best matching the terms, else its opening."""
        own = self.passages.of_article(article_position)
        return self.hit(article_position, score, own.start, Query(" ".join(query_terms), tuple(query_terms)))

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

    def published_within(self, since: datetime, until: datetime) -> list[int]:
        """Positions of the articles published in (since, until], newest first; undated ones never are.

        Two binary searches over the recency order: the cost is that of the articles returned, not of
        the archive."""
        order = self._newest_first

        def key(rank: int) -> float:
            published = self.articles[int(order[rank])].published
            return math.inf if published is None else -published.timestamp()

        ranks = range(len(order))
        first = bisect.bisect_left(ranks, -until.timestamp(), key=key)
        last = bisect.bisect_left(ranks, -since.timestamp(), lo=first, key=key)
        positions: list[int] = order[first:last].tolist()
        return positions

    def topic_counts(self) -> list[tuple[Topic, int]]:
        """Each tracked topic with the number of articles about it."""
        return [(topic, len(self.topic_members.get(topic.slug, ()))) for topic in self.topics]


@dataclass(frozen=True, slots=True)
class _FusedPart:
    """One segment of the three indexes (or the whole of each, as built) for kernels.fused_top."""

    whole: BM25Index
    passages: BM25Index
    titles: BM25Index
    first_article: int
    articles: int
    first_passage: int
    first_passages: npt.NDArray[np.int64]  # its articles' first passages, numbered within it (and the end)
    widen: npt.NDArray[np.float64]  # how far the article and passage bounds are widened


def _fused_parts(
    whole: BM25Index | SegmentedIndex,
    passages: BM25Index | SegmentedIndex,
    titles: BM25Index | SegmentedIndex,
    first_passages: npt.NDArray[np.int64],
) -> tuple[_FusedPart, ...] | None:
    """See Library._fused_parts."""
    if isinstance(whole, BM25Index) and isinstance(passages, BM25Index) and isinstance(titles, BM25Index):
        one = _FusedPart(
            whole, passages, titles, 0, whole.num_docs, 0, first_passages, np.ones(2, dtype=np.float64)
        )
        return (one,)
    if not (
        isinstance(whole, SegmentedIndex)
        and isinstance(passages, SegmentedIndex)
        and isinstance(titles, SegmentedIndex)
    ):
        return None
    split = [index.restated_parts() for index in (whole, passages, titles)]
    if any(parts is None for parts in split):
        return None
    whole_parts, passage_parts, title_parts = (parts for parts in split if parts is not None)
    if not len(whole_parts) == len(passage_parts) == len(title_parts):
        return None
    made = []
    for (first, part), (first_p, part_p), (first_t, part_t) in zip(
        whole_parts, passage_parts, title_parts, strict=True
    ):
        articles = part.num_docs
        if first_t != first or part_t.num_docs != articles or int(first_passages[first]) != first_p:
            return None  # (segmented differently: the pass needs each article's texts in one segment)
        if int(first_passages[first + articles]) - first_p != part_p.num_docs:
            return None
        if not (math.isfinite(part.bound_scale) and math.isfinite(part_p.bound_scale)):
            return None
        own = first_passages[first : first + articles + 1]
        own = own if first_p == 0 else own - first_p
        own.flags.writeable = False
        widen = np.asarray([part.bound_scale, part_p.bound_scale], dtype=np.float64)
        made.append(_FusedPart(part, part_p, part_t, first, articles, first_p, own, widen))
    return tuple(made)


def _passage_norms(index: BM25Index | SegmentedIndex) -> npt.NDArray[np.float64]:
    """Each passage's BM25 length norm under the index's (global) statistics."""
    if isinstance(index, BM25Index):
        return index.postings_arrays.norm
    parts = index.restated_parts()
    if parts is None:
        raise ValueError("an index with dead documents has no norm for every number")
    return np.concatenate([part.postings_arrays.norm for _, part in parts])


@dataclass(frozen=True, slots=True)
class CountPlan:
    """What Library.read_relevant reads for a question (see plan_count)."""

    terms: tuple[str, ...]
    names: frozenset[str]  # of those, the ones the question writes as names (see Library.term_weights)
    weights: dict[str, float]
    needed: tuple[str, ...]  # the heaviest terms: an article passing holds one of them
    share: float  # of the question's weight an article must hold
    cap: int
    dated: dict[str, int]  # terms naming a year → the year
    unnamed: set[str]  # of those, the years beyond the archive (no story names them, or after its present)
    years: npt.NDArray[np.int32] | None  # each article's year of publication, when a year is named


class _Beside:
    """One helper thread that runs a piece of an answer beside the thread asking, when it is free: with
    several answers at once the piece is simply done in line (no queue behind another answer's).

    A forked child has none of its parent's threads: there it starts afresh (a future handed to the
    parent's pool would never be run, and a search would wait on it for ever)."""

    def __init__(self) -> None:
        self._made = threading.Lock()
        self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._free = threading.Semaphore(1)
        self._pool: ThreadPoolExecutor | None = None

    def run(self, job: Callable[[], _T]) -> Future[_T] | None:
        """The job's future, running on the helper thread; None (do it yourself) when that is busy."""
        if self._pid != os.getpid():
            self._made = threading.Lock()  # (the parent's may have been held when it forked)
            self._start()
        if not self._free.acquire(blocking=False):
            return None
        try:
            with self._made:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbot-beside")
            future = self._pool.submit(job)
        except RuntimeError:  # (no new work once the interpreter is shutting down)
            self._free.release()
            return None
        future.add_done_callback(lambda _: self._free.release())
        return future


_BESIDE = _Beside()  # (its thread starts with the first large answer, not at import)


def _kernel_arrays(postings: Postings, *, impacts: bool = False) -> tuple[npt.NDArray[np.generic], ...]:
    """An index's arrays in the order kernels.fused_top takes them (impacts for the article index only)."""
    head = (postings.indptr, postings.doc_ids, postings.tfs)
    tail = (postings.max_weight, postings.idf, postings.norm)
    return (*head, postings.impacts, *tail) if impacts else (*head, *tail)


def _publication_years(articles: Sequence[Article]) -> npt.NDArray[np.int32]:
    """Year of publication of each article in its own time zone, -1 when undated.

    A snapshot's article table holds the dates as arrays (epoch microseconds, UTC offsets, flags): read
    them whole rather than making every article. Anything else is asked article by article.
    """
    published = getattr(articles, "_published", None)
    offsets = getattr(articles, "_utc_offset", None)
    absent = getattr(articles, "_absent", None)
    if (
        isinstance(published, np.ndarray)
        and isinstance(offsets, np.ndarray)
        and isinstance(absent, np.ndarray)
    ):
        local = published.astype(np.int64) + offsets.astype(np.int64) * 1_000_000
        years = local.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970
        undated = (absent & _NO_DATE_FLAG) != 0
        result: npt.NDArray[np.int32] = np.where(undated, -1, years).astype(np.int32)
        if len(result) == len(articles) and (not len(result) or _spot_check(articles, result)):
            return result
    return np.fromiter(map(publication_year, articles), dtype=np.int32, count=len(articles))


def years_named(query_terms: Iterable[str]) -> dict[str, int]:
    """A question's terms naming a year (1800–2099) → that year: the relevance rule holds stories to it."""
    return {term: int(term) for term in query_terms if _YEAR.fullmatch(term)}


def publication_year(article: Article) -> int:
    """The year an article was published in its own time zone, -1 when undated."""
    return -1 if article.published is None else article.published.year


_NO_DATE_FLAG = 4  # the snapshot table's "no date" bit


def _spot_check(articles: Sequence[Article], years: npt.NDArray[np.int32]) -> bool:
    """Whether a few articles' own dates agree with the years read from the arrays."""
    for position in {0, len(articles) // 2, len(articles) - 1}:
        published = articles[position].published
        if (-1 if published is None else published.year) != int(years[position]):
            return False
    return True


def article_token(article_id: str) -> str:
    """A short, stable, URL-safe stand-in for an article id (12 chars), for 64-byte button data."""
    digest = hashlib.blake2b(article_id.encode("utf-8"), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def recency_key(article: Article) -> tuple[int, float, str]:
    """What recency ranks order by: newest first, undated last, then the id."""
    published = article.published
    return (1, 0.0, article.id) if published is None else (0, -published.timestamp(), article.id)


def recency_ranks(articles: Sequence[Article]) -> npt.NDArray[np.int64]:
    """Rank of each article by recency_key."""
    order = sorted(range(len(articles)), key=lambda position: recency_key(articles[position]))
    ranks = np.empty(len(articles), dtype=np.int64)
    ranks[np.asarray(order, dtype=np.int64)] = np.arange(len(articles), dtype=np.int64)
    return ranks


@dataclass(frozen=True, slots=True)
class AnalysedArticle:
    """What the three indexes hold of one article, and its topics."""

    spans: list[tuple[int, int]]  # its passages, as character spans of the body
    passages: list[list[str]]  # each passage's terms (body text only)
    whole: list[str]  # the title's terms, then every passage's
    title: list[str]
    topics: tuple[str, ...]


def topic_alias_terms(topics: Sequence[Topic]) -> set[frozenset[str]]:
    """The term sets of the topics' aliases: an article can mention a topic only if it holds one."""
    return {frozenset(words) for topic in topics for alias in topic.aliases if (words := terms(alias))}


def article_terms(article: Article) -> tuple[list[list[str]], list[str], list[str]]:
    """One article as the three indexes see it: each passage's terms, the whole (title, then every
    passage), the title's. The one place that decides."""
    title_terms = terms(article.title)
    everything = list(title_terms)
    body = article.body
    passages = []
    for start, end in passage_spans(body) or [(0, 0)]:
        body_terms = terms(body[start:end])
        everything.extend(body_terms)
        passages.append(body_terms)
    return passages, everything, title_terms


def analyse_article(
    article: Article, matcher: TopicMatcher, alias_terms: set[frozenset[str]]
) -> AnalysedArticle:
    """Split and analyse one article as a library's build does: passages, terms, topics."""
    spans = passage_spans(article.body) or [(0, 0)]
    passages, everything, title_terms = article_terms(article)
    mentions_any = article.tags or any(words <= set(everything) for words in alias_terms)
    topics = matcher.topics_of(article) if mentions_any else ()
    return AnalysedArticle(spans, passages, everything, title_terms, topics)


def build_library(
    corpus: Corpus,
    topics: Sequence[Topic],
    *,
    extra_problems: Sequence[Problem] = (),
    fingerprint: str = "",
    progress: Progress | None = None,
) -> Library:
    """Index a loaded corpus: split passages, analyse them, build the three BM25 indexes, resolve topics."""
    started = time.perf_counter()
    matcher = TopicMatcher(topics)
    articles = corpus.articles
    alias_terms = topic_alias_terms(topics)
    owners: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    tokenised: list[list[str]] = []
    whole: list[list[str]] = []
    titles: list[list[str]] = []
    article_topics: list[tuple[str, ...]] = []
    for position, article in enumerate(articles):
        analysed = analyse_article(article, matcher, alias_terms)
        for start, end in analysed.spans:
            owners.append(position)
            starts.append(start)
            ends.append(end)
        tokenised.extend(analysed.passages)
        titles.append(analysed.title)
        whole.append(analysed.whole)
        article_topics.append(analysed.topics)
        if progress is not None and (position % 500 == 0 or position == len(articles) - 1):
            progress("indexing", position + 1, len(articles))
    index = BM25Index.build(tokenised)
    del tokenised
    article_index = BM25Index.build(whole)
    del whole
    title_index = BM25Index.build(titles)
    return assemble_library(
        articles,
        matcher,
        PassageTable(
            articles,
            np.asarray(owners, dtype=np.int32),
            np.asarray(starts, dtype=np.int32),
            np.asarray(ends, dtype=np.int32),
        ),
        (index, article_index, title_index),
        tuple(article_topics),
        problems=tuple(corpus.problems) + tuple(extra_problems),
        fingerprint=fingerprint,
        build_seconds=time.perf_counter() - started,
    )


def assemble_library(
    articles: Sequence[Article],
    matcher: TopicMatcher,
    passages: PassageTable,
    indexes: tuple[BM25Index | SegmentedIndex, BM25Index | SegmentedIndex, BM25Index | SegmentedIndex],
    article_topics: Sequence[tuple[str, ...]],
    *,
    problems: tuple[Problem, ...] = (),
    fingerprint: str = "",
    build_seconds: float = 0.0,
    loaded_at: datetime | None = None,
    recency_rank: npt.NDArray[np.int64] | None = None,
    article_ids: Sequence[str] | None = None,
    article_tokens: Sequence[str] | None = None,
    files: Mapping[str, CorpusFile] | None = None,
) -> Library:
    """A Library from its parts (built here or read from a snapshot), with its lookup tables.

    `indexes` are the passage, article and title indexes, in that order, of the same analysed text: an
    article's document is its title's terms, then its passages' (the compiled ranking relies on it).
    """
    ids = [article.id for article in articles] if article_ids is None else article_ids
    tokens = [article_token(article_id) for article_id in ids] if article_tokens is None else article_tokens
    members: dict[str, list[int]] = {topic.slug: [] for topic in matcher.topics}
    for position, slugs in enumerate(article_topics):
        for slug in slugs:
            members.setdefault(slug, []).append(position)
    index, article_index, title_index = indexes
    return Library(
        articles=articles,
        problems=problems,
        topics=matcher.topics,
        matcher=matcher,
        passages=passages,
        passage_article=passages.owners,
        index=index,
        article_index=article_index,
        title_index=title_index,
        article_topics=article_topics,
        topic_members={slug: tuple(positions) for slug, positions in members.items()},
        recency_rank=recency_ranks(articles) if recency_rank is None else recency_rank,
        fingerprint=fingerprint,
        files={} if files is None else files,
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
    # Stamped before reading: a file changed meanwhile keeps the older stamp and is read again later.
    stamps, fingerprint = corpus_state(corpus_dir)

    def report_files(done: int, total: int) -> None:
        if progress is not None:
            progress("loading", done, total)

    corpus = load_corpus(corpus_dir, max_bytes=max_file_bytes, progress=report_files)
    topics, topic_problems = load_topics(topics_path)
    library = build_library(
        corpus, topics, extra_problems=topic_problems, fingerprint=fingerprint, progress=progress
    )
    files = corpus_files(stamps, corpus.articles)
    return replace(library, files=files, build_seconds=time.perf_counter() - started)
