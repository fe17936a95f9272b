"""An index of segments: BM25Okapi over several immutable BM25Index segments, scored with the statistics
of the whole archive, so every score (and tie) is the one a fresh BM25Index.build of the live documents
would give.

New documents go into a small new segment; deleted ones are marked dead in theirs and skipped until a
merge drops them (as Lucene does). A SegmentedIndex is an immutable view: `with_segment`, `without` and
`merged` return new views and never change this one, so a reader holding a view is never disturbed.
Documents are numbered 0..num_docs-1 over the live documents, segment after segment, in order; merges
only join neighbouring segments, so they never renumber a document.

Global statistics: the document count, the average length, each term's document frequency over live
documents, and rank-bm25's idf floor (epsilon times the average idf, summed in the order the terms first
occur in the live documents: that order only moves when deletions remove a term's first occurrence, and
then the token lists of the documents concerned settle it, see `tokens_of`). Each segment is then
`restated` under them: exact scores with the global idf and lengths, its impact bounds widened by how far
the average length moved since it was built. Must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from bot.core.index import BM25Index, FloatArray, IntArray, okapi_idf, tf_dtype

TokensOf = Callable[[int], Sequence[str]]  # a live document's token list, by its number in the view

# Tiered merging: segments whose live sizes are within a factor MERGE_FACTOR of each other form a tier; a
# tier of MERGE_FACTOR segments is joined into one. Each document is rewritten about log_MERGE_FACTOR(N)
# times in all, and there are at most MERGE_FACTOR - 1 segments per tier.
MERGE_FACTOR = 10
# The newest segments holding up to this many live documents in all are searched as one index, joined
# from their postings for each view (a few milliseconds), rather than one call each.
TAIL_DOCS = 20_000
# A segment with at least this share of dead documents is rewritten on its own (dropping them).
EXPUNGE_SHARE = 0.2
_NO_DOC = np.iinfo(np.int64).max
Value = TypeVar("Value", bound=np.generic)


@dataclass(frozen=True, slots=True, eq=False)
class Segment:
    """One immutable batch of documents and which of them are dead."""

    index: BM25Index  # the batch's postings, with its own statistics (they only shape its impact bounds)
    dead: npt.NDArray[np.bool_] | None = None  # per local doc; None when all are live
    # Derived: per local term the live documents holding it, and the local number of each live doc.
    live_df: npt.NDArray[np.int64] = field(init=False, repr=False)
    live_docs: npt.NDArray[np.int64] = field(init=False, repr=False)
    dead_count: int = field(init=False)

    def __post_init__(self) -> None:
        lengths = np.diff(np.asarray(self.index._indptr)).astype(np.int64)
        n = self.index.num_docs
        if self.dead is None or not self.dead.any():
            object.__setattr__(self, "dead", None)
            object.__setattr__(self, "live_df", lengths)
            object.__setattr__(self, "live_docs", np.arange(n, dtype=np.int64))
            object.__setattr__(self, "dead_count", 0)
            return
        dead = self.dead
        if dead.shape != (n,):
            raise ValueError(f"dead must have shape ({n},), not {dead.shape}")
        # Live postings per term: one pass over the postings (deletions are rare and batched).
        live_posting = ~dead[self.index._doc_ids]
        live_df = (
            np.add.reduceat(live_posting.astype(np.int64), self.index._indptr[:-1])
            if len(lengths)
            else lengths
        )
        live_df[lengths == 0] = 0
        object.__setattr__(self, "live_df", live_df.astype(np.int64))
        object.__setattr__(self, "live_docs", np.flatnonzero(~dead).astype(np.int64))
        object.__setattr__(self, "dead_count", int(dead.sum()))

    @property
    def size(self) -> int:
        """Live documents."""
        return self.index.num_docs - self.dead_count

    def first_live(self) -> npt.NDArray[np.int64]:
        """Per local term, the first live local doc holding it (_NO_DOC when none does)."""
        index = self.index
        starts = index._indptr[:-1]
        firsts = index._doc_ids[starts].astype(np.int64) if len(starts) else np.zeros(0, dtype=np.int64)
        if self.dead is None:
            return firsts
        dead = self.dead
        for tid in np.flatnonzero(dead[firsts]).tolist():
            docs = index._doc_ids[index._indptr[tid] : index._indptr[tid + 1]]
            alive = ~dead[docs]
            firsts[tid] = int(docs[int(alive.argmax())]) if alive.any() else _NO_DOC
        return firsts


class SegmentedIndex:
    """BM25Okapi over segments with global statistics; the query side of BM25Index, over live docs."""

    def __init__(
        self,
        segments: Sequence[Segment],
        *,
        tokens_of: TokensOf | None = None,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        _grown_from: SegmentedIndex | None = None,
        _joined_from: SegmentedIndex | None = None,
    ) -> None:
        """`_grown_from` (for with_segment): a view whose segments these extend, unchanged, so its term
        numbering, frequencies and first-occurrence order are carried over instead of remade.
        `_joined_from` (for merged): a view of the very same live documents, whose statistics hold as
        they are; only the joined segment is restated."""
        self.segments = tuple(segments)
        self.tokens_of = tokens_of
        self.k1, self.b, self.epsilon = k1, b, epsilon
        for segment in self.segments:
            index = segment.index
            if (index.k1, index.b, index.epsilon) != (k1, b, epsilon):
                raise ValueError("every segment must use the same k1, b and epsilon")
        sizes = [segment.size for segment in self.segments]
        self._offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        n_docs = int(self._offsets[-1])
        total = sum(
            int(segment.index._doc_len.sum(dtype=np.int64))
            if segment.dead is None
            else int(segment.index._doc_len[segment.live_docs].sum(dtype=np.int64))
            for segment in self.segments
        )
        # The same expressions as BM25Index, so the floats are the same.
        self.avgdl = total / n_docs if n_docs else 0.0
        self._n_docs = n_docs
        self._term_ids: dict[str, int] = {}
        self._maps: dict[int, npt.NDArray[np.int64]] = {}
        self._df: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._order: IntArray = np.zeros(0, dtype=np.int64)
        self._terms_by_id: list[str] | None = None
        self._n_terms: int = 0
        self._idf: FloatArray = np.zeros(0, dtype=np.float64)
        self.average_idf: float = 0.0
        self._vocabulary_size: int = 0
        self._restated: tuple[BM25Index, ...] = ()
        self._lead: int = 0
        self._tail_from: int = 0
        self._tail: BM25Index | None = None
        if _joined_from is not None:
            self._same_statistics(_joined_from)
        else:
            self._global_statistics(_grown_from)

    def _same_statistics(self, before: SegmentedIndex) -> None:
        """The statistics of a view of the same live documents (segments joined), carried over."""
        self._term_ids = before._term_ids
        self._n_terms = before._n_terms
        self._df, self._order, self._idf = before._df, before._order, before._idf
        self.average_idf = before.average_idf
        self._vocabulary_size = before._vocabulary_size
        kept = {id(segment.index): number for number, segment in enumerate(before.segments)}
        maps: dict[int, npt.NDArray[np.int64]] = {}
        restated_list: list[BM25Index] = []
        local_to_global: list[npt.NDArray[np.int64]] = []
        for segment in self.segments:
            number = kept.get(id(segment.index))
            if number is not None and before.segments[number] is segment:
                mapping = before._maps[id(segment.index)]
                restated_list.append(before._restated[number])
            else:
                vocabulary = segment.index.vocabulary
                mapping = np.fromiter(
                    map(self._term_ids.__getitem__, vocabulary), dtype=np.int64, count=len(vocabulary)
                )
                restated_list.append(segment.index.restated(self._idf[mapping], self.average_idf, self.avgdl))
            maps[id(segment.index)] = mapping
            local_to_global.append(mapping)
        self._maps = maps
        self._restated = tuple(restated_list)
        self._arrange_queries(local_to_global)

    @classmethod
    def of(cls, index: BM25Index, *, tokens_of: TokensOf | None = None) -> SegmentedIndex:
        """One built index as a view of one segment (its scores unchanged)."""
        return cls([Segment(index)], tokens_of=tokens_of, k1=index.k1, b=index.b, epsilon=index.epsilon)

    # --- statistics ------------------------------------------------------------------------------

    def _global_statistics(self, grown_from: SegmentedIndex | None) -> None:
        """Global term ids, document frequencies, the idf (with rank-bm25's floor), each segment restated.

        Term ids come from a table shared by a line of views and only ever appended to (a view knows
        the first _n_terms of it), so a new view numbers only its new segment's terms."""
        term_ids: dict[str, int]
        maps: dict[int, npt.NDArray[np.int64]]
        if grown_from is not None:
            term_ids, maps = grown_from._term_ids, dict(grown_from._maps)
        else:
            term_ids, maps = {}, {}
        local_to_global: list[npt.NDArray[np.int64]] = []
        if not term_ids and self.segments:
            # A view's first numbering starts with its first segment's own (a copy made in C, not a
            # loop over what may be most of the archive's vocabulary).
            first = self.segments[0].index
            term_ids = dict(first._term_ids)
            maps[id(first)] = np.arange(len(term_ids), dtype=np.int64)
        for segment in self.segments:
            mapping = maps.get(id(segment.index))
            if mapping is None:
                vocabulary = segment.index.vocabulary
                mapping = np.fromiter(
                    (term_ids.setdefault(term, len(term_ids)) for term in vocabulary),
                    dtype=np.int64,
                    count=len(vocabulary),
                )
                maps[id(segment.index)] = mapping
            local_to_global.append(mapping)
        # (keyed by the index object, which the segments keep alive while this view holds them)
        self._maps = {id(segment.index): maps[id(segment.index)] for segment in self.segments}
        n_terms = len(term_ids)
        self._term_ids = term_ids
        self._n_terms = n_terms
        if grown_from is not None:
            df = np.zeros(n_terms, dtype=np.int64)
            df[: len(grown_from._df)] = grown_from._df
            new_segments = range(len(grown_from.segments), len(self.segments))
            fresh: list[IntArray] = []
            for number in new_segments:
                mapping = local_to_global[number]
                # Terms the archive did not hold first occur here, in this segment's term order.
                fresh.append(mapping[df[mapping] == 0])
                df[mapping] += self.segments[number].live_df
            order = np.concatenate([grown_from._order, *fresh]) if fresh else grown_from._order
        else:
            df = np.zeros(n_terms, dtype=np.int64)
            for segment, mapping in zip(self.segments, local_to_global, strict=True):
                df[mapping] += segment.live_df  # (a segment's terms are distinct: no index repeats)
            order = self._first_occurrence_order(local_to_global, n_terms)
        self._df = df
        self._order = order
        idf = np.zeros(n_terms, dtype=np.float64)
        present = order  # the live terms, in the order they first occur (the order _idf sums them in)
        idf[present], average = okapi_idf(df[present], self._n_docs, self.epsilon)
        self._idf = idf
        self.average_idf = average
        self._restated = tuple(
            segment.index.restated(idf[mapping], average, self.avgdl)
            for segment, mapping in zip(self.segments, local_to_global, strict=True)
        )
        self._vocabulary_size = len(present)
        self._arrange_queries(local_to_global)

    def _arrange_queries(self, local_to_global: list[npt.NDArray[np.int64]]) -> None:
        """top_k asks the largest segment first, then the others only when a doc of theirs could still
        reach its k-th best; the smallest, newest segments are asked as one (see _tail_index)."""
        self._lead = max(range(len(self.segments)), key=lambda n: self.segments[n].index.num_docs, default=0)
        self._tail_from, self._tail = self._tail_index(local_to_global)

    def _tail_index(self, local_to_global: list[npt.NDArray[np.int64]]) -> tuple[int, BM25Index | None]:
        """The last segments (after the largest, TAIL_DOCS live docs at most in all) joined into one index
        straight from their postings (dead docs left out), restated like the others: one search of a
        few thousand docs instead of a call per segment. (first segment in it, index) or (n, None)."""
        count = len(self.segments)
        first, docs = count, 0
        while first - 1 > self._lead and docs + self.segments[first - 1].size <= TAIL_DOCS:
            first -= 1
            docs += self.segments[first].size
        if count - first < 2:
            return count, None  # nothing to gain over asking one segment
        gids: list[IntArray] = []
        doc_ids: list[IntArray] = []
        tfs: list[IntArray] = []
        lengths: list[IntArray] = []
        base = 0
        for number in range(first, count):
            segment = self.segments[number]
            index = segment.index
            per_term = np.diff(index._indptr)
            posting_gids = np.repeat(local_to_global[number], per_term)
            local = index._doc_ids.astype(np.int64)
            tf = index._tfs
            if segment.dead is not None:
                keep = ~segment.dead[local]
                renumber = np.cumsum(~segment.dead) - 1
                posting_gids, local, tf = posting_gids[keep], renumber[local[keep]], tf[keep]
            gids.append(posting_gids)
            doc_ids.append(local + base)
            tfs.append(tf.astype(np.uint32))
            lengths.append(index._doc_len[segment.live_docs])
            base += segment.size
        all_gids = np.concatenate(gids)
        all_docs = np.concatenate(doc_ids)
        order = np.lexsort((all_docs, all_gids))
        all_gids, all_docs = all_gids[order], all_docs[order]
        all_tfs = np.concatenate(tfs)[order]
        present, starts = np.unique(all_gids, return_index=True)
        indptr = np.append(starts, len(all_gids)).astype(np.int64)
        terms: dict[int, str] = {}
        for number in range(first, count):
            vocabulary = self.segments[number].index.vocabulary
            for local_id, gid in enumerate(local_to_global[number].tolist()):
                terms.setdefault(gid, vocabulary[local_id])
        joined = BM25Index(
            [terms[gid] for gid in present.tolist()],
            indptr,
            all_docs.astype(np.int32),
            all_tfs.astype(tf_dtype(all_tfs)),
            np.concatenate(lengths).astype(np.int32),
            k1=self.k1,
            b=self.b,
            epsilon=self.epsilon,
        )
        return first, joined.restated(self._idf[present], self.average_idf, self.avgdl)

    def _first_occurrence_order(self, local_to_global: list[npt.NDArray[np.int64]], n_terms: int) -> IntArray:
        """The global ids of the live terms in the order a fresh build would number them: by the first
        live document holding them, then by where they first occur in it."""
        first_doc = np.full(n_terms, _NO_DOC, dtype=np.int64)
        within = np.zeros(n_terms, dtype=np.int64)
        moved_docs: set[int] = set()
        # Later segments first, so an earlier segment's first occurrence overwrites a later one's.
        for number in range(len(self.segments) - 1, -1, -1):
            segment, mapping = self.segments[number], local_to_global[number]
            firsts = segment.first_live()
            alive = firsts != _NO_DOC
            local_terms = np.flatnonzero(alive)
            global_terms = mapping[local_terms]
            if segment.dead is None:
                positions = firsts[local_terms] + self._offsets[number]
            else:
                rank = np.cumsum(~segment.dead) - 1  # local doc → its number among the live ones
                positions = rank[firsts[local_terms]] + self._offsets[number]
                # A term whose first occurrence died now starts in a later doc, where its term id says
                # nothing about its place among that doc's terms: the doc's tokens settle it below.
                original = segment.index._doc_ids[segment.index._indptr[:-1][local_terms]]
                moved = original != firsts[local_terms]
                moved_docs.update(positions[moved].tolist())
            first_doc[global_terms] = positions
            within[global_terms] = local_terms  # a segment's term ids follow first occurrence
        live = np.flatnonzero(first_doc != _NO_DOC)
        if moved_docs and self.tokens_of is not None:
            starting = first_doc[live]
            for position in sorted(moved_docs):
                here = live[starting == position]
                seen: dict[str, int] = {}
                for token in self.tokens_of(position):
                    seen.setdefault(token, len(seen))
                for gid in here.tolist():
                    within[gid] = seen.get(self._term(gid), len(seen))
        order = np.lexsort((within[live], first_doc[live]))
        result: IntArray = live[order]
        return result

    def _term(self, gid: int) -> str:
        if self._terms_by_id is None:
            self._terms_by_id = list(self._term_ids)[: self._n_terms]
        return self._terms_by_id[gid]

    # --- sizes -----------------------------------------------------------------------------------

    @property
    def num_docs(self) -> int:
        """Number of live documents."""
        return self._n_docs

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct terms in live documents."""
        return self._vocabulary_size

    @property
    def num_postings(self) -> int:
        """Postings held, dead documents' included until a merge drops them."""
        return sum(segment.index.num_postings for segment in self.segments)

    @property
    def nbytes(self) -> int:
        """Memory held by the numeric arrays of every segment (restated idf and norms included)."""
        return sum(index.nbytes for index in self._restated)

    @property
    def dead_count(self) -> int:
        """Dead documents not yet merged away."""
        return sum(segment.dead_count for segment in self.segments)

    # --- terms -----------------------------------------------------------------------------------

    def idf(self, term: str) -> float:
        """The (floored) idf of a term over the live documents; 0.0 for an unknown term."""
        gid = self._term_ids.get(term)
        return 0.0 if gid is None or gid >= self._n_terms or not self._df[gid] else float(self._idf[gid])

    def doc_freq(self, term: str) -> int:
        """Number of live documents containing the term."""
        gid = self._term_ids.get(term)
        return 0 if gid is None or gid >= self._n_terms else int(self._df[gid])

    def postings(self, term: str) -> IntArray:
        """Numbers of the live docs containing the term, ascending."""
        parts = [self._to_view(number, index.postings(term)) for number, index in enumerate(self._restated)]
        parts = [part for part in parts if len(part)]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    # --- scoring ---------------------------------------------------------------------------------

    def scores_of(self, query_terms: Sequence[str], docs: IntArray) -> FloatArray:
        """Exact scores of the given docs (ascending, distinct); 0.0 for a doc holding no query term."""
        out = np.zeros(len(docs), dtype=np.float64)
        return self._per_segment(docs, lambda index, local: index.scores_of(query_terms, local), out)

    def held_weights(self, weights: dict[str, float], docs: IntArray) -> FloatArray:
        """For each doc (ascending), the sum of the weights of the terms it holds (see BM25Index)."""
        out = np.zeros(len(docs), dtype=np.float64)
        return self._per_segment(docs, lambda index, local: index.held_weights(weights, local), out)

    def holds(self, term: str, docs: IntArray) -> npt.NDArray[np.bool_]:
        """For each of the given docs (ascending), whether it contains the term."""
        out = np.zeros(len(docs), dtype=np.bool_)
        return self._per_segment(docs, lambda index, local: index.holds(term, local), out)

    def restated_parts(self) -> tuple[tuple[int, BM25Index], ...] | None:
        """Each segment as (its first number in this view, the segment restated under the global
        statistics), for code that reads segments' arrays itself; None while any holds dead docs."""
        if self.dead_count:
            return None
        return tuple(zip(self._offsets[:-1].tolist(), self._restated, strict=True))

    def docs_holding(
        self,
        weights: dict[str, float],
        needed: Collection[str],
        share: float,
        cap: int,
        *,
        dated: Mapping[str, int] | None = None,
        unnamed: Collection[str] = (),
        years: npt.NDArray[np.int32] | None = None,
        marks: npt.NDArray[np.uint8] | None = None,
    ) -> IntArray | None:
        """As BM25Index.docs_holding, over every segment (numbers in this view); None while any holds
        dead docs (the caller then reads the postings) or without the kernels."""
        if self.dead_count:
            return None
        if dated and (years is None or len(years) != self.num_docs):
            raise ValueError("a question naming a year needs each doc's year")
        parts: list[IntArray] = []
        counted = 0
        # Segment by segment up to the tail, then the tail as the one index it is joined into.
        asked = [
            (int(self._offsets[n]), int(self._offsets[n + 1]), self._restated[n])
            for n in range(self._tail_from)
        ]
        if self._tail is not None:
            asked.append((int(self._offsets[self._tail_from]), self._n_docs, self._tail))
        for start, stop, index in asked:
            part_years = years[start:stop] if years is not None and dated else None
            found = index.docs_holding(
                weights,
                needed,
                share,
                cap - counted,
                dated=dated,
                unnamed=unnamed,
                years=part_years,
                marks=marks,
            )
            if found is None:
                return None
            parts.append(found + start)
            counted += len(found)
            if counted >= cap:
                break
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def match(self, query_terms: Sequence[str]) -> tuple[IntArray, FloatArray]:
        """Numbers (ascending) of every live doc containing a query term, with their scores."""
        all_docs: list[IntArray] = []
        all_scores: list[FloatArray] = []
        for number, index in enumerate(self._restated):
            docs, scores = index.match(query_terms)
            if not len(docs):
                continue
            segment = self.segments[number]
            if segment.dead is not None:
                keep = ~segment.dead[docs]
                docs, scores = docs[keep], scores[keep]
            all_docs.append(self._to_view(number, docs))
            all_scores.append(scores)
        if not all_docs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return np.concatenate(all_docs), np.concatenate(all_scores)

    def top_k(
        self, query_terms: Sequence[str], k: int, *, tie_rank: IntArray | None = None
    ) -> list[tuple[int, float]]:
        """The best k live docs as (number, score): score desc, then tie_rank asc, then number asc."""
        if tie_rank is not None and tie_rank.shape != (self.num_docs,):
            raise ValueError(f"tie_rank must have shape ({self.num_docs},), not {tie_rank.shape}")
        if k <= 0:
            return []
        found: list[tuple[float, int, int]] = []
        if not self.segments:
            return []
        self._ask(self._lead, query_terms, k, tie_rank, found)
        asked: list[int | None] = [n for n in range(self._tail_from) if n != self._lead]
        if self._tail is not None:
            asked.append(None)  # the tail, as one index
        for number in asked:
            index = self._tail if number is None else self._restated[number]
            assert index is not None
            if len(found) >= k:
                # The most a doc here can score, against the k-th best so far: often it cannot compete.
                bound = index.score_bound([index.term_id(term) for term in query_terms])
                if bound * (1 + 1e-9) < -heapq.nsmallest(k, found)[-1][0]:
                    continue
            if number is None:
                self._ask_tail(query_terms, k, tie_rank, found)
            else:
                self._ask(number, query_terms, k, tie_rank, found)
        found.sort()
        return [(position, -negative) for negative, _, position in found[:k]]

    def _ask_tail(
        self,
        query_terms: Sequence[str],
        k: int,
        tie_rank: IntArray | None,
        found: list[tuple[float, int, int]],
    ) -> None:
        """The tail's best k, added to `found` (its docs are the view's last ones, in order)."""
        assert self._tail is not None
        offset = int(self._offsets[self._tail_from])
        ranks = None if tie_rank is None else tie_rank[offset:]
        best = self._tail.top_k(query_terms, k, tie_rank=ranks)
        _collect([doc + offset for doc, _ in best], [score for _, score in best], tie_rank, found)

    def _ask(
        self,
        number: int,
        query_terms: Sequence[str],
        k: int,
        tie_rank: IntArray | None,
        found: list[tuple[float, int, int]],
    ) -> None:
        """One segment's best k live docs, added to `found` as (-score, tie rank, number)."""
        segment = self.segments[number]
        ranks = None if tie_rank is None else self._local_ranks(number, tie_rank)
        # A dead doc may take a place in the segment's list: ask for as many more as there are.
        best = self._restated[number].top_k(query_terms, k + segment.dead_count, tie_rank=ranks)
        if not best:
            return
        docs = np.fromiter((doc for doc, _ in best), dtype=np.int64, count=len(best))
        scores = [score for _, score in best]
        if segment.dead is not None:
            keep = ~segment.dead[docs]
            docs = docs[keep]
            scores = [score for score, kept in zip(scores, keep.tolist(), strict=True) if kept]
        _collect(self._to_view(number, docs).tolist(), scores, tie_rank, found)

    # --- views -----------------------------------------------------------------------------------

    def with_segment(self, index: BM25Index, *, tokens_of: TokensOf | None = None) -> SegmentedIndex:
        """A new view with a segment of new documents after the others (numbered after them)."""
        return SegmentedIndex(
            (*self.segments, Segment(index)),
            tokens_of=tokens_of or self.tokens_of,
            k1=self.k1,
            b=self.b,
            epsilon=self.epsilon,
            _grown_from=self,
        )

    def without(self, docs: IntArray, *, tokens_of: TokensOf | None = None) -> SegmentedIndex:
        """A new view with these live docs dead (the others are renumbered to close the gaps)."""
        docs = np.unique(np.asarray(docs, dtype=np.int64))
        if len(docs) and (docs[0] < 0 or docs[-1] >= self.num_docs):
            raise IndexError("doc number out of range")
        segments = []
        for number, segment in enumerate(self.segments):
            start, end = self._offsets[number], self._offsets[number + 1]
            mine = docs[(docs >= start) & (docs < end)] - start
            if not len(mine):
                segments.append(segment)
                continue
            dead = (
                np.zeros(segment.index.num_docs, dtype=bool) if segment.dead is None else segment.dead.copy()
            )
            dead[segment.live_docs[mine]] = True
            segments.append(Segment(segment.index, dead))
        return SegmentedIndex(
            segments, tokens_of=tokens_of or self.tokens_of, k1=self.k1, b=self.b, epsilon=self.epsilon
        )

    def merged(self, first: int, last: int, tokens_of: TokensOf) -> SegmentedIndex:
        """A new view with segments first..last (inclusive, neighbours) rewritten as one, dead docs
        dropped; `tokens_of` gives the live docs' token lists by their number (which does not change)."""
        if not 0 <= first <= last < len(self.segments):
            raise IndexError("no such segments")
        start, end = int(self._offsets[first]), int(self._offsets[last + 1])
        joined = BM25Index.build(
            [tokens_of(position) for position in range(start, end)],
            k1=self.k1,
            b=self.b,
            epsilon=self.epsilon,
        )
        segments = (*self.segments[:first], Segment(joined), *self.segments[last + 1 :])
        settings = {"tokens_of": tokens_of, "k1": self.k1, "b": self.b, "epsilon": self.epsilon}
        try:
            # The same live documents: the statistics stand, only the joined segment is restated.
            return SegmentedIndex(segments, **settings, _joined_from=self)  # type: ignore[arg-type]
        except KeyError:  # tokens_of gave a term the view never held (another analyzer): recount
            return SegmentedIndex(segments, **settings)  # type: ignore[arg-type]

    def single(self) -> BM25Index:
        """The whole view as one built index (its segments joined, dead docs dropped, when needed)."""
        if len(self.segments) == 1 and self.segments[0].dead is None:
            return self.segments[0].index
        if not self.segments:
            return BM25Index.build([], k1=self.k1, b=self.b, epsilon=self.epsilon)
        if self.tokens_of is None:
            raise ValueError("joining segments needs the documents' tokens")
        return self.merged(0, len(self.segments) - 1, self.tokens_of).segments[0].index

    def merge_plan(self) -> tuple[int, int] | None:
        """The neighbouring segments the tiered policy would join next (first, last), or None.

        A run of MERGE_FACTOR neighbours whose sizes are all within the tier of the smallest of them
        (at most MERGE_FACTOR times it) is joined; else a segment with EXPUNGE_SHARE dead is rewritten.
        """
        sizes = [max(segment.size, 1) for segment in self.segments]
        for first in range(len(sizes) - MERGE_FACTOR, -1, -1):
            run = sizes[first : first + MERGE_FACTOR]
            if max(run) <= MERGE_FACTOR * min(run):
                return first, first + MERGE_FACTOR - 1
        for number, segment in enumerate(self.segments):
            if segment.dead_count and segment.dead_count >= EXPUNGE_SHARE * segment.index.num_docs:
                return number, number
        return None

    # --- numbering -------------------------------------------------------------------------------

    def _to_view(self, number: int, local: IntArray) -> IntArray:
        """Local doc ids of one segment (live ones) → numbers in this view."""
        segment = self.segments[number]
        offset = int(self._offsets[number])
        local = np.asarray(local, dtype=np.int64)
        if segment.dead is None:
            shifted: IntArray = local + offset
            return shifted
        keep = ~segment.dead[local]
        numbers: IntArray = np.searchsorted(segment.live_docs, local[keep]) + offset
        return numbers

    def _per_segment(
        self,
        docs: IntArray,
        ask: Callable[[BM25Index, IntArray], npt.NDArray[Value]],
        out: npt.NDArray[Value],
    ) -> npt.NDArray[Value]:
        """Split ascending view numbers by segment, ask each segment with its local ids, write the
        answers into `out` (one per doc)."""
        docs = np.asarray(docs, dtype=np.int64)
        bounds = np.searchsorted(docs, self._offsets)
        for number, index in enumerate(self._restated):
            lo, hi = int(bounds[number]), int(bounds[number + 1])
            if lo == hi:
                continue
            local = self.segments[number].live_docs[docs[lo:hi] - self._offsets[number]]
            out[lo:hi] = ask(index, local)
        return out

    def _local_ranks(self, number: int, tie_rank: IntArray) -> IntArray:
        """tie_rank (per view number) for one segment's local docs; dead docs rank last."""
        segment = self.segments[number]
        part = tie_rank[self._offsets[number] : self._offsets[number + 1]]
        if segment.dead is None:
            return part
        ranks = np.full(segment.index.num_docs, np.iinfo(np.int64).max, dtype=np.int64)
        ranks[segment.live_docs] = part
        return ranks


def _collect(
    positions: list[int], scores: list[float], tie_rank: IntArray | None, found: list[tuple[float, int, int]]
) -> None:
    """Add docs (view numbers) and their scores to `found` as (-score, tie rank, number): sorting it then
    gives top_k's order."""
    ranked = [0] * len(positions) if tie_rank is None else tie_rank[positions].tolist()
    found.extend(zip((-score for score in scores), ranked, positions, strict=True))
