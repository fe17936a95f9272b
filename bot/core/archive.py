"""The archive that answers questions: the corpus folder's library plus the articles fetched from sources.

`extend_library` is the one way in for new articles: a batch in, a new immutable library view out. Only
the batch is analysed and indexed, as a new segment of each of the library's three indexes; articles
taken out are marked dead in their segments (see bot.core.segments). Every score stays the one a fresh
build of the whole archive gives. The base view is never changed, so readers holding it finish with it
undisturbed. Pure and synchronous: must not import telegram, aiosqlite, asyncio, pydantic or any HTTP
client.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from bot.core.corpus import CorpusChanges
from bot.core.index import BM25Index
from bot.core.library import (
    CorpusFile,
    LazySequence,
    Library,
    PassageTable,
    analyse_article,
    article_terms,
    assemble_library,
    recency_key,
    topic_alias_terms,
)
from bot.core.models import Article, Problem
from bot.core.segments import Segment, SegmentedIndex, TokensOf
from bot.core.text import terms


class ArticleView(LazySequence[Article]):
    """Articles of a view: some of a root sequence (a snapshot's table, made lazily), then more.

    Views of views stay flat (one root, one list of picks), so a lookup never walks a chain.
    """

    _item_name = "article"

    def __init__(
        self, root: Sequence[Article], picks: npt.NDArray[np.int64], extra: Sequence[Article]
    ) -> None:
        self.root = root
        self.picks = picks  # positions in root of the first len(picks) articles
        self.extra = tuple(extra)

    def __len__(self) -> int:
        return len(self.picks) + len(self.extra)

    def _at(self, index: int) -> Article:
        if index < len(self.picks):
            return self.root[int(self.picks[index])]
        return self.extra[index - len(self.picks)]

    @classmethod
    def of(
        cls, articles: Sequence[Article], kept: npt.NDArray[np.int64], added: Sequence[Article]
    ) -> ArticleView:
        """The articles at `kept` (ascending positions), then `added`."""
        if isinstance(articles, ArticleView):
            picked = kept[kept < len(articles.picks)]
            extra = [articles.extra[int(i) - len(articles.picks)] for i in kept[kept >= len(articles.picks)]]
            return cls(articles.root, articles.picks[picked], (*extra, *added))
        return cls(articles, kept, added)


@dataclass(frozen=True, slots=True)
class Extension:
    """A new view and what went into it."""

    library: Library
    added: tuple[Article, ...]
    removed: tuple[Article, ...]
    problems: tuple[Problem, ...]


def extend_library(base: Library, articles: Sequence[Article], *, removed: Collection[str] = ()) -> Library:
    """A new library holding base's articles, less the `removed` ids, plus these (an id base keeps is
    left out, with a Problem when it is a fetched article clashing with a corpus one). Base is not
    changed. An id both removed and given is replaced: the old article dies, the new one is added."""
    return extend(base, articles, removed=removed).library


def with_fetched(view: Library, fetched: Sequence[Article]) -> Library:
    """The view holding exactly these fetched articles beside its corpus articles: the ones it lacks are
    added (one new segment), and those it holds outside its corpus files that are no longer given are
    taken out. A view that does not know its corpus files only gains articles."""
    stale: list[str] = []
    if view.files:
        corpus = {article_id for record in view.files.values() for article_id in record.ids}
        given = {article.id for article in fetched}
        stale = [
            article_id for article_id in view._by_id if article_id not in corpus and article_id not in given
        ]
    missing = [article for article in fetched if view.position(article.id) is None]
    return extend_library(view, missing, removed=stale)


def extend(base: Library, articles: Sequence[Article], *, removed: Collection[str] = ()) -> Extension:
    """extend_library, saying what was added and removed."""
    started = time.perf_counter()
    gone = sorted({p for article_id in removed if (p := base.position(article_id)) is not None})
    gone_ids = {base.articles[p].id for p in gone}
    have = set(base._by_id) - gone_ids
    added: list[Article] = []
    problems: list[Problem] = []
    for article in articles:
        if article.id in have:
            clash = base.article(article.id)
            if clash is not None and clash.path != article.path:
                problems.append(
                    Problem(
                        article.path, None, f"article id {article.id!r} is taken by {clash.path}; left out"
                    )
                )
            continue
        have.add(article.id)
        added.append(article)
    if not added and not gone:
        if problems:
            return Extension(base.updated(problems=(*base.problems, *problems)), (), (), tuple(problems))
        return Extension(base, (), (), ())
    batch = analyse_batch(base, added) if added else None
    library = _new_view(base, batch, np.asarray(gone, dtype=np.int64), (*base.problems, *problems), started)
    return Extension(library, tuple(added), tuple(base.articles[p] for p in gone), tuple(problems))


def apply_changes(base: Library, changes: CorpusChanges) -> Extension:
    """The view with the corpus files that changed brought up to date: the articles of changed and
    removed files taken out, those of new and changed files added (in path order, after the rest), the
    problems of those files replaced. Needs `base.files` (a library loaded from the corpus).

    An article of a changed file that reads exactly as before, at the same place, stays as it is: one
    edited story in a file of a thousand re-indexes one story, not a thousand."""
    touched = changes.touched
    before = [article_id for rel in touched if (record := base.files.get(rel)) for article_id in record.ids]
    held = set(before)
    unchanged: set[str] = set()
    for article in changes.articles:
        if article.id in held and base.article(article.id) == article:
            unchanged.add(article.id)
    removed = [article_id for article_id in before if article_id not in unchanged]
    extension = extend(base, [a for a in changes.articles if a.id not in unchanged], removed=removed)
    library = extension.library
    # Problems: those of untouched files and the ones not about corpus files stay; the walk's and the
    # read files' are new (the same problem found again is kept once).
    kept = [
        problem
        for problem in base.problems
        if problem.path not in touched and (problem.path in changes.stamps or problem.path not in base.files)
    ]
    problems = tuple(dict.fromkeys((*kept, *changes.problems, *extension.problems)))
    in_view = {article.id for article in extension.added} | unchanged
    files = dict(base.files)
    for rel in touched:
        files.pop(rel, None)
    by_file: dict[str, list[str]] = {}
    for article in changes.articles:
        if article.id in in_view:
            by_file.setdefault(article.path, []).append(article.id)
    for rel in touched:
        if rel in changes.stamps:
            files[rel] = CorpusFile(changes.stamps[rel], tuple(by_file.get(rel, ())))
    updated = library.updated(problems=problems, files=files, fingerprint=changes.fingerprint)
    return replace(
        extension, library=updated, problems=tuple(p for p in changes.problems if p not in base.problems)
    )


def analyse_batch(base: Library, articles: Sequence[Article]) -> Library:
    """New articles analysed and indexed as a library of their own, with base's topics and BM25
    parameters: its three indexes are what a view built on base gets as one new segment each, and what
    a saved segment holds (see bot.core.saved_view). Nothing of base is changed."""
    alias_terms = topic_alias_terms(base.topics)
    analysed = [analyse_article(article, base.matcher, alias_terms) for article in articles]
    owners = np.asarray([i for i, part in enumerate(analysed) for _ in part.spans], dtype=np.int32)
    starts = np.asarray([s for part in analysed for s, _ in part.spans], dtype=np.int32)
    ends = np.asarray([e for part in analysed for _, e in part.spans], dtype=np.int32)
    k1, b, epsilon = base.index.k1, base.index.b, base.index.epsilon

    def build(docs: list[list[str]]) -> BM25Index:
        return BM25Index.build(docs, k1=k1, b=b, epsilon=epsilon)

    return assemble_library(
        articles,
        base.matcher,
        PassageTable(articles, owners, starts, ends),
        (
            build([p for part in analysed for p in part.passages]),
            build([part.whole for part in analysed]),
            build([part.title for part in analysed]),
        ),
        [part.topics for part in analysed],
    )


class ArticleChain(LazySequence[Article]):
    """Several article sequences (saved segments' tables, made lazily) read as one, end to end."""

    _item_name = "article"

    def __init__(self, parts: Sequence[Sequence[Article]]) -> None:
        self.parts = tuple(parts)
        self._starts = [0]
        for part in self.parts:
            self._starts.append(self._starts[-1] + len(part))

    def __len__(self) -> int:
        return self._starts[-1]

    def _at(self, index: int) -> Article:
        part = bisect.bisect_right(self._starts, index) - 1
        return self.parts[part][index - self._starts[part]]


def assemble_view(
    segments: Sequence[Library],
    dead: Sequence[npt.NDArray[np.bool_] | None],
    *,
    recency_rank: npt.NDArray[np.int64] | None = None,
) -> Library:
    """The view whose index segments are these libraries' indexes, in order, with the articles marked
    in `dead` (per segment, per article; None: all live) taken out: what the view saved as these
    segments held, scores and numbering included. Nothing is analysed again and no article is made:
    the articles stay in their segments' tables. `recency_rank` is the view's, as saved; without it the
    order is made from every article's date (reading them all)."""
    if not segments or len(dead) != len(segments):
        raise ValueError("a view has at least one segment, each with its dead flags")
    started = time.perf_counter()
    counts = [segment.article_count for segment in segments]
    starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
    alive = np.concatenate(
        [
            np.ones(count, dtype=bool) if marks is None else ~marks
            for count, marks in zip(counts, dead, strict=True)
        ]
    )
    kept = np.flatnonzero(alive).astype(np.int64)
    renumber = np.full(len(alive), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept), dtype=np.int64)
    articles = ArticleView(ArticleChain([segment.articles for segment in segments]), kept, ())

    owners = np.concatenate(
        [np.asarray(s.passages.owners, dtype=np.int64) + starts[k] for k, s in enumerate(segments)]
    )
    passage_alive = alive[owners]
    table = PassageTable(
        articles,
        renumber[owners[passage_alive]].astype(np.int32),
        np.concatenate([s.passages.starts for s in segments])[passage_alive].astype(np.int32),
        np.concatenate([s.passages.ends for s in segments])[passage_alive].astype(np.int32),
    )
    passage_starts = np.concatenate([[0], np.cumsum([len(s.passages) for s in segments], dtype=np.int64)])
    passage_dead = [
        None if marks is None else ~passage_alive[passage_starts[k] : passage_starts[k + 1]]
        for k, marks in enumerate(dead)
    ]
    passage_tokens, whole_tokens, title_tokens = _token_readers(articles, table)
    first = segments[0].index

    def segmented(
        parts: list[BM25Index | SegmentedIndex],
        flags: Sequence[npt.NDArray[np.bool_] | None],
        tokens_of: TokensOf,
    ) -> SegmentedIndex:
        built: list[Segment] = []
        for part, marks in zip(parts, flags, strict=True):
            if not isinstance(part, BM25Index):
                raise ValueError("a saved segment is one built index")
            built.append(Segment(part, marks if marks is not None and marks.any() else None))
        return SegmentedIndex(built, tokens_of=tokens_of, k1=first.k1, b=first.b, epsilon=first.epsilon)

    ids: list[str] = []
    tokens: list[str] = []
    for segment in segments:
        ids.extend(_in_order(segment._by_id, segment.article_count))
        tokens.extend(_in_order(segment._by_token, segment.article_count))
    topics = [slugs for segment in segments for slugs in segment.article_topics]
    library = assemble_library(
        articles,
        segments[0].matcher,
        table,
        (
            segmented([s.index for s in segments], passage_dead, passage_tokens),
            segmented([s.article_index for s in segments], dead, whole_tokens),
            segmented([s.title_index for s in segments], dead, title_tokens),
        ),
        [topics[int(p)] for p in kept],
        recency_rank=recency_rank,
        article_ids=[ids[int(p)] for p in kept],
        article_tokens=[tokens[int(p)] for p in kept],
        build_seconds=time.perf_counter() - started,
    )
    years = np.concatenate([segment.publication_years() for segment in segments])[kept]
    library._years.append(years.astype(np.int32))
    return library.updated(min_relevance=segments[0].min_relevance)


def _in_order(positions: Mapping[str, int], count: int) -> list[str]:
    """The keys of a key → position table, by position."""
    out = [""] * count
    for key, position in positions.items():
        out[position] = key
    return out


def _token_readers(articles: Sequence[Article], table: PassageTable) -> tuple[TokensOf, TokensOf, TokensOf]:
    """How a view's three indexes read a live document's tokens again (for merges and deletions): a
    passage's, a whole article's, a title's, by their numbers in the view."""

    def passage_tokens(position: int) -> list[str]:
        return terms(table[position].text)

    def whole_tokens(position: int) -> list[str]:
        return article_terms(articles[position])[1]

    def title_tokens(position: int) -> list[str]:
        return terms(articles[position].title)

    return passage_tokens, whole_tokens, title_tokens


def segment_library(view: Library, number: int) -> Library:
    """Segment `number` of a view's indexes as a library of its own (its articles, passages and the
    three index segments): what is saved of it. Only a segment without dead articles can be: a dead
    article's text is no longer in the view."""
    indexes = [view.index, view.article_index, view.title_index]
    parts = [index.segments[number] if isinstance(index, SegmentedIndex) else None for index in indexes]
    if any(part is None for part in parts):
        if number != 0 or any(part is not None for part in parts):
            raise ValueError("the view's indexes are not segmented alike")
        return view
    passage_part, article_part, title_part = (part for part in parts if part is not None)
    if article_part.dead_count or passage_part.dead_count or title_part.dead_count:
        raise ValueError("a segment with dead articles cannot be saved from the view")
    assert isinstance(view.article_index, SegmentedIndex)
    first = sum(segment.size for segment in view.article_index.segments[:number])
    count = article_part.index.num_docs
    articles = view.articles[first : first + count]
    owners = view.passages.owners
    lo, hi = (int(x) for x in np.searchsorted(owners, [first, first + count]))
    if hi - lo != passage_part.index.num_docs:
        raise ValueError("the passage segment does not hold its articles' passages")
    return assemble_library(
        articles,
        view.matcher,
        PassageTable(
            articles,
            (owners[lo:hi] - first).astype(np.int32),
            np.asarray(view.passages.starts[lo:hi], dtype=np.int32),
            np.asarray(view.passages.ends[lo:hi], dtype=np.int32),
        ),
        (passage_part.index, article_part.index, title_part.index),
        view.article_topics[first : first + count],
    )


def _new_view(
    base: Library,
    batch: Library | None,
    gone: npt.NDArray[np.int64],
    problems: tuple[Problem, ...],
    started: float,
) -> Library:
    """base without the articles at `gone`, with the batch's articles after the rest: each index gets the
    batch's index as one new segment."""
    n_old = base.article_count
    alive = np.ones(n_old, dtype=bool)
    alive[gone] = False
    kept = np.flatnonzero(alive).astype(np.int64)
    # Old position → new position (-1: gone).
    renumber = np.full(n_old, -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept), dtype=np.int64)
    n_kept = len(kept)
    added: Sequence[Article] = batch.articles if batch is not None else ()
    new_articles = ArticleView.of(base.articles, kept, added)

    # Passages: the kept ones (renumbered owners), then the batch's.
    passages = base.passages
    passage_alive = alive[passages.owners]
    owners_parts = [renumber[passages.owners[passage_alive]].astype(np.int32)]
    starts_parts = [passages.starts[passage_alive]]
    ends_parts = [passages.ends[passage_alive]]
    if batch is not None:
        owners_parts.append((np.asarray(batch.passages.owners, dtype=np.int64) + n_kept).astype(np.int32))
        starts_parts.append(batch.passages.starts)
        ends_parts.append(batch.passages.ends)
    table = PassageTable(
        new_articles,
        np.concatenate(owners_parts).astype(np.int32),
        np.concatenate(starts_parts).astype(np.int32),
        np.concatenate(ends_parts).astype(np.int32),
    )

    passage_tokens, whole_tokens, title_tokens = _token_readers(new_articles, table)
    dead_passages = np.flatnonzero(~passage_alive).astype(np.int64)

    def grown(
        index: BM25Index | SegmentedIndex,
        dead: npt.NDArray[np.int64],
        segment: BM25Index | SegmentedIndex | None,
        tokens_of: TokensOf,
    ) -> SegmentedIndex:
        view = index if isinstance(index, SegmentedIndex) else SegmentedIndex.of(index, tokens_of=tokens_of)
        if len(dead):
            view = view.without(dead, tokens_of=tokens_of)
        if segment is not None and segment.num_docs:
            if not isinstance(segment, BM25Index):  # (a batch is one built index)
                raise ValueError("a batch's index is one segment")
            view = view.with_segment(segment, tokens_of=tokens_of)
        return view

    index = grown(base.index, dead_passages, None if batch is None else batch.index, passage_tokens)
    article_index = grown(
        base.article_index, gone, None if batch is None else batch.article_index, whole_tokens
    )
    title_index = grown(base.title_index, gone, None if batch is None else batch.title_index, title_tokens)

    # Lookup tables, carried over rather than remade: the kept articles' entries renumbered.
    article_topics = [base.article_topics[int(p)] for p in kept] if len(gone) else list(base.article_topics)
    batch_topics: Sequence[tuple[str, ...]] = batch.article_topics if batch is not None else ()
    article_topics.extend(batch_topics)
    members: dict[str, list[int]] = {}
    for slug, positions in base.topic_members.items():
        moved = renumber[np.asarray(positions, dtype=np.int64)] if positions else np.zeros(0, dtype=np.int64)
        members[slug] = moved[moved >= 0].tolist()
    for i, slugs in enumerate(batch_topics):
        for slug in slugs:
            members.setdefault(slug, []).append(n_kept + i)
    if len(gone):
        by_id = {article_id: int(renumber[p]) for article_id, p in base._by_id.items() if renumber[p] >= 0}
        by_token = {token: int(renumber[p]) for token, p in base._by_token.items() if renumber[p] >= 0}
    else:
        by_id, by_token = dict(base._by_id), dict(base._by_token)
    if batch is not None:
        for article_id, i in batch._by_id.items():
            by_id[article_id] = n_kept + i
        for token, i in batch._by_token.items():
            by_token[token] = n_kept + i

    library = Library(
        articles=new_articles,
        problems=problems,
        topics=base.topics,
        matcher=base.matcher,
        passages=table,
        passage_article=table.owners,
        index=index,
        article_index=article_index,
        title_index=title_index,
        article_topics=tuple(article_topics),
        recency_rank=_recency_after(base, kept, renumber, added),
        topic_members={slug: tuple(positions) for slug, positions in members.items()},
        min_relevance=base.min_relevance,
        fingerprint=base.fingerprint,
        files=base.files,
        build_seconds=time.perf_counter() - started,
        _by_id=by_id,
        _by_token=by_token,
    )
    # The kept articles' years are carried over, not remade (a snapshot's table reads them whole).
    years = base.publication_years()[kept]
    fresh = batch.publication_years() if batch is not None else np.zeros(0, dtype=np.int32)
    library._years.append(np.concatenate([years, fresh]).astype(np.int32))
    return library


def merge_segments(library: Library) -> Library:
    """The same view with its indexes' segments merged as the tiered policy asks (see
    SegmentedIndex.merge_plan): no answer, score or numbering changes. `library` itself when there is
    nothing to merge. The work is the merged segments' documents analysed again and indexed."""
    indexes = [library.index, library.article_index, library.title_index]
    segmented = [index for index in indexes if isinstance(index, SegmentedIndex) and index.tokens_of]
    if len(segmented) == 3 and len({len(index.segments) for index in segmented}) == 1:
        # Segmented alike (one segment per batch in each): merged alike, by the article index's plan,
        # so each segment keeps holding all the texts of its articles (what the compiled pass reads).
        while (plan := segmented[1].merge_plan()) is not None:
            segmented = [index.merged(*plan, _tokens(index)) for index in segmented]
        indexes = list(segmented)
    else:
        for number, index in enumerate(indexes):
            while isinstance(index, SegmentedIndex) and index.tokens_of is not None:
                plan = index.merge_plan()
                if plan is None:
                    break
                index = index.merged(*plan, index.tokens_of)
            indexes[number] = index
    if all(
        new is old
        for new, old in zip(indexes, (library.index, library.article_index, library.title_index), strict=True)
    ):
        return library
    return library.updated(index=indexes[0], article_index=indexes[1], title_index=indexes[2])


def rewrite_segments(library: Library, numbers: Collection[int]) -> Library:
    """The same view with these segments of its three indexes rewritten without their dead articles (a
    merge of each segment with itself): no answer, score or numbering changes. The work is the segments'
    live articles analysed again."""
    indexes = [library.index, library.article_index, library.title_index]
    if not numbers:
        return library
    if not all(isinstance(index, SegmentedIndex) and index.tokens_of for index in indexes):
        raise ValueError("only a segmented view's segments can be rewritten")
    rewritten: list[SegmentedIndex] = []
    for index in indexes:
        assert isinstance(index, SegmentedIndex)
        for number in sorted(set(numbers)):
            index = index.merged(number, number, _tokens(index))
        rewritten.append(index)
    return library.updated(index=rewritten[0], article_index=rewritten[1], title_index=rewritten[2])


def _tokens(index: SegmentedIndex) -> TokensOf:
    assert index.tokens_of is not None  # (only indexes that know their tokens are merged)
    return index.tokens_of


class _KeysInOrder(Sequence[tuple[int, float, str]]):
    """The recency keys of a library's articles, newest first, made only where a search looks."""

    def __init__(self, articles: Sequence[Article], order: npt.NDArray[np.int64]) -> None:
        self.articles, self.order = articles, order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return recency_key(self.articles[int(self.order[index])])


def _recency_after(
    base: Library, kept: npt.NDArray[np.int64], renumber: npt.NDArray[np.int64], added: Sequence[Article]
) -> npt.NDArray[np.int64]:
    """recency_ranks of the new view, from base's order: the kept articles keep theirs, the batch is
    placed by binary search (a few dozen keys made per article, not the whole archive sorted)."""
    order = base._newest_first
    order = renumber[order]
    order = order[order >= 0]
    keys_view = _KeysInOrder(ArticleView.of(base.articles, kept, ()), order)
    n_kept = len(kept)
    batch = sorted(range(len(added)), key=lambda i: recency_key(added[i]))
    where = [bisect.bisect_left(keys_view, recency_key(added[i])) for i in batch]
    newest_first = np.insert(
        order, np.asarray(where, dtype=np.int64), np.asarray(batch, dtype=np.int64) + n_kept
    )
    ranks = np.empty(len(newest_first), dtype=np.int64)
    ranks[newest_first] = np.arange(len(newest_first), dtype=np.int64)
    return ranks
