"""BM25Okapi (exactly as rank-bm25 0.2.2 scores it) over token lists, with per-term posting arrays.

top_k accumulates one-byte impact bounds term at a time, strongest term first, and stops reading lists
once no unseen document can reach the top k (MaxScore); the few candidates left are scored exactly.
Snapshots are .npy files plus JSON, never pickle. Must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import threading
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.core import kernels

_FORMAT = "newsbot-bm25"
INDEX_VERSION = 2  # bump when the snapshot arrays or their meaning change
_ARRAYS = ("indptr", "doc_ids", "tfs", "doc_len", "max_weight", "impacts")
_LEVELS = 256  # impact levels: one byte per posting
_CHUNK_POSTINGS = 1 << 22  # postings per pass when computing per-term maximum weights
_DENSE_SHARE = 8  # scan the whole scratch array once the lists touched cover 1/8 of its length
_ACCUMULATE_FROM = 16_384  # postings from which top_k accumulates in a scratch array instead of merging
_PROBE_SHARE = 8  # binary-search a list for the candidates while they are fewer than 1/8 of its length
_SLACK = 1e-9  # relative allowance for float rounding when comparing sums of bounds
# top_k runs the compiled kernels when numba is there; False keeps it on the numpy path (the reference).
COMPILED = True
_NO_RANK = np.zeros(0, dtype=np.int64)
_NO_RANK.flags.writeable = False
_NO_MARKS = np.zeros(0, dtype=np.uint8)  # docs_holding without scratch: lists galloped
_NO_YEARS = np.zeros(0, dtype=np.int32)

IntArray = npt.NDArray[np.integer[Any]]
FloatArray = npt.NDArray[np.float64]


def load_array(path: Path, *, mmap: bool = True) -> npt.NDArray[Any]:
    """An array saved with np.save, memory-mapped read-only (or read whole). A mapped one is handed out
    as a plain ndarray over the mapping (its base the np.memmap, which keeps the file mapped): np.memmap
    runs Python code on every index and slice, about a microsecond each, dozens of times a search."""
    loaded = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    array: npt.NDArray[Any] = np.asarray(loaded)
    return array


@dataclass(frozen=True, slots=True)
class Postings:
    """An index's arrays as compiled code reads them (read-only): CSC postings, one-byte impacts, each
    term's largest weight and idf, each document's length norm."""

    indptr: IntArray
    doc_ids: IntArray
    tfs: IntArray
    impacts: npt.NDArray[np.uint8]
    max_weight: FloatArray
    idf: FloatArray
    norm: FloatArray
    step: float  # the width of one impact level
    k1_plus_1: float


def compiled_kernels() -> kernels.Kernels | None:
    """The compiled kernels when they are ready and the compiled path is on (COMPILED), else None."""
    return kernels.ready() if COMPILED else None


class BM25Index:
    """An immutable BM25Okapi index: vocabulary, CSC-style postings and per-document length normalisers."""

    def __init__(
        self,
        vocabulary: list[str],
        indptr: IntArray,
        doc_ids: IntArray,
        tfs: IntArray,
        doc_len: IntArray,
        max_weight: FloatArray | None = None,
        impacts: npt.NDArray[np.uint8] | None = None,
        *,
        k1: float,
        b: float,
        epsilon: float,
    ) -> None:
        self._vocabulary = vocabulary
        self._term_ids = dict(zip(vocabulary, range(len(vocabulary)), strict=True))
        self._indptr = indptr
        self._doc_ids = doc_ids
        self._tfs = tfs
        self._doc_len = doc_len
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        n_docs = len(doc_len)
        total = int(doc_len.sum(dtype=np.int64))
        # Same expressions, in the same order, as rank-bm25, so the float64 results are bit-identical.
        self.avgdl = total / n_docs if n_docs else 0.0
        if self.avgdl > 0:
            norm = k1 * (1 - b + b * doc_len.astype(np.int64) / self.avgdl)
            self._norm: FloatArray = norm.astype(np.float64, copy=False)
        else:
            self._norm = np.zeros(n_docs, dtype=np.float64)
        self._lengths = np.diff(indptr)
        self._idf, self.average_idf = okapi_idf(self._lengths, n_docs, epsilon)
        # A weight tf*(k1+1)/(tf+norm) lies in [level, level+1) * _step for its one-byte impact level.
        self._step = (k1 + 1) / _LEVELS
        if max_weight is None or impacts is None:
            max_weight, impacts = _weights(indptr, doc_ids, tfs, self._norm, k1, self._step)
        self._max_weight = max_weight
        self._impacts = impacts
        self._levels = np.arange(_LEVELS, dtype=np.float64) * self._step
        # The average length the impacts and max_weight were made for, and how far a weight may now
        # stray from them (see restated): 1, 1 while the index keeps its own statistics.
        self._impact_avgdl = self.avgdl
        self._low = self._high = 1.0
        # Terms whose idf is not positive (only in small archives): a match may score 0 or less there,
        # so "touched" no longer means "better than nothing"; the numpy path ranks such questions.
        self._weak_terms = frozenset(np.flatnonzero(self._idf <= 0).tolist())
        self._local = threading.local()
        for array in (
            indptr,
            doc_ids,
            tfs,
            doc_len,
            max_weight,
            impacts,
            self._norm,
            self._idf,
            self._lengths,
        ):
            if array.flags.writeable:
                array.flags.writeable = False  # match() hands out views of these

    @classmethod
    def build(
        cls, docs: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
    ) -> BM25Index:
        """Index token lists (one per document; document id = position)."""
        n_docs = len(docs)
        doc_len = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
        total = int(doc_len.sum())
        # Ids in order of first occurrence, as rank-bm25's dict has them (keeps average_idf's sum order).
        term_ids = _TermIds()
        keys = np.fromiter(
            map(term_ids.__getitem__, itertools.chain.from_iterable(docs)), dtype=np.int64, count=total
        )
        # One sort of term * n_docs + doc lays out every posting list with doc ids ascending; runs of
        # equal keys are the term frequencies.
        stride = max(n_docs, 1)
        keys *= stride
        keys += np.repeat(np.arange(n_docs, dtype=np.int32), doc_len)
        keys.sort()
        first = np.empty(total, dtype=bool)
        if total:
            first[0] = True
            np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        del first
        unique_keys = np.take(keys, starts)
        del keys
        counts = np.empty(len(starts), dtype=np.int64)
        np.subtract(starts[1:], starts[:-1], out=counts[:-1])
        counts[-1:] = total - starts[-1:]
        del starts
        tfs: IntArray = counts.astype(tf_dtype(counts))
        del counts
        # Posting lists follow one another in term order: each term's list starts at its first key.
        indptr = np.searchsorted(unique_keys, np.arange(len(term_ids) + 1, dtype=np.int64) * stride)
        doc_ids = np.remainder(unique_keys, stride).astype(np.int32)
        del unique_keys
        return cls(
            list(term_ids),
            indptr.astype(np.int64),
            doc_ids,
            tfs,
            doc_len.astype(np.int32),
            k1=k1,
            b=b,
            epsilon=epsilon,
        )

    def restated(self, idf: FloatArray, average_idf: float, avgdl: float) -> BM25Index:
        """These postings scored under other statistics: an archive's, of which this is one segment.

        `idf` (per term id of this index) and `avgdl` are the archive's, so every score is the one a
        fresh index of the whole archive gives these docs. The impacts and max_weight stay those made
        for this index's own average length: a weight tf*(k1+1)/(tf + k1*(1-b+b*dl/avgdl)) moves by at
        most the ratio of the average lengths (the denominator's only avgdl-dependent part scales by
        it), so the bounds are widened by that ratio, [min(1, r), max(1, r)], and stay valid.
        """
        other = copy.copy(self)
        if idf.shape != self._idf.shape:
            raise ValueError(f"idf must have shape {self._idf.shape}, not {idf.shape}")
        idf = idf.astype(np.float64, copy=True)
        idf.flags.writeable = False
        other._idf = idf
        other.average_idf = average_idf
        other.avgdl = avgdl
        if avgdl > 0:
            norm = self.k1 * (1 - self.b + self.b * self._doc_len.astype(np.int64) / avgdl)
            other._norm = norm.astype(np.float64, copy=False)
        else:
            other._norm = np.zeros(self.num_docs, dtype=np.float64)
        other._norm.flags.writeable = False
        if self._impact_avgdl > 0 and avgdl > 0:
            ratio = avgdl / self._impact_avgdl
            # (a hair wider than the ratio: its float rounding must not make a bound too tight)
            other._low = min(1.0, ratio) * (1 - 1e-12) if ratio != 1 else 1.0
            other._high = max(1.0, ratio) * (1 + 1e-12) if ratio != 1 else 1.0
        else:
            other._low, other._high = 0.0, math.inf  # no usable bounds: score exhaustively
        other._weak_terms = frozenset(np.flatnonzero(idf <= 0).tolist())
        other._local = threading.local()
        return other

    def score_bound(self, term_ids: Sequence[int]) -> float:
        """The most any doc can score for these term ids (repeats count; -1: a term not held), from each
        term's largest weight, widened as the impacts are (see restated)."""
        most = 0.0
        for tid in term_ids:  # (a handful of terms: plain floats beat numpy's call overhead here)
            if tid >= 0:
                most += float(self._max_weight[tid]) * max(float(self._idf[tid]), 0.0)
        return most * self._high

    @property
    def bound_scale(self) -> float:
        """How much the impact bounds are widened upward (1.0 as built; see restated)."""
        return self._high

    @property
    def loose(self) -> bool:
        """Whether the impact bounds are widened (see restated)."""
        return not (self._low == self._high == 1.0)

    @property
    def postings_arrays(self) -> Postings:
        """The arrays compiled code reads (do not modify)."""
        return Postings(
            self._indptr,
            self._doc_ids,
            self._tfs,
            self._impacts,
            self._max_weight,
            self._idf,
            self._norm,
            self._step,
            self.k1 + 1,
        )

    def term_id(self, term: str) -> int:
        """The term's id in postings_arrays, -1 when the index does not hold it."""
        return self._term_ids.get(term, -1)

    def weak(self, term_ids: Collection[int]) -> bool:
        """Whether any of these term ids has an idf of 0 or less (a match may then score 0 or less)."""
        return bool(self._weak_terms) and not self._weak_terms.isdisjoint(term_ids)

    @property
    def num_docs(self) -> int:
        """Number of indexed documents."""
        return len(self._doc_len)

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct terms."""
        return len(self._vocabulary)

    @property
    def vocabulary(self) -> Sequence[str]:
        """The indexed terms, by term id (do not modify)."""
        return self._vocabulary

    @property
    def num_postings(self) -> int:
        """Number of (term, document) pairs."""
        return len(self._doc_ids)

    @property
    def nbytes(self) -> int:
        """Memory held by the numeric arrays (the vocabulary and its dict are not counted)."""
        arrays = (
            self._indptr,
            self._doc_ids,
            self._tfs,
            self._doc_len,
            self._max_weight,
            self._impacts,
            self._norm,
            self._idf,
        )
        return sum(a.nbytes for a in arrays)

    def idf(self, term: str) -> float:
        """The (floored) idf of a term as rank-bm25 uses it; 0.0 for an unknown term."""
        tid = self._term_ids.get(term)
        return 0.0 if tid is None else float(self._idf[tid])

    def doc_freq(self, term: str) -> int:
        """Number of documents containing the term."""
        tid = self._term_ids.get(term)
        return 0 if tid is None else int(self._indptr[tid + 1] - self._indptr[tid])

    def postings(self, term: str) -> IntArray:
        """Ids of the docs containing the term, ascending (read-only; empty for an unknown term)."""
        tid = self._term_ids.get(term)
        if tid is None:
            return np.zeros(0, dtype=np.int32)
        start, end = self._postings(tid)
        return self._doc_ids[start:end]

    def scores_of(self, query_terms: Sequence[str], docs: IntArray) -> FloatArray:
        """Exact scores of the given docs (ascending, distinct ids); 0.0 for a doc holding no query term."""
        tids = self._known(query_terms)
        if not tids or not len(docs):
            return np.zeros(len(docs), dtype=np.float64)
        fast = compiled_kernels()
        if fast is not None:
            return fast.exact_scores(
                np.asarray(tids, dtype=np.int64),
                _int64(docs),
                self._indptr,
                self._doc_ids,
                self._tfs,
                self._idf,
                self._norm,
                self.k1 + 1,
            )
        return self._scores_at(tids, docs)

    def held_weights(self, weights: dict[str, float], docs: IntArray) -> FloatArray:
        """For each doc (ascending ids), the sum of the weights of the terms it holds, added in the
        dict's order from 0.0."""
        known = [(tid, weight) for term, weight in weights.items()
                 if (tid := self._term_ids.get(term)) is not None]  # fmt: skip
        fast = compiled_kernels()
        if fast is not None and known and len(docs):
            return fast.held_weights(
                np.asarray([tid for tid, _ in known], dtype=np.int64),
                np.asarray([weight for _, weight in known], dtype=np.float64),
                _int64(docs),
                self._indptr,
                self._doc_ids,
            )
        held = np.zeros(len(docs), dtype=np.float64)
        for tid, weight in known:
            held[self.holds(self._vocabulary[tid], docs)] += weight
        return held

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
        """The docs (ascending ids, the first `cap`) holding a `needed` term that hold terms worth at least
        `share` of all the weights, added in the dict's order (as held_weights does); None without the
        kernels.

        The year rule of Library.relevance_of: a `dated` term (→ the year it names) that a doc lacks
        rules it out when years[doc] is another year (-1, undated, is none); one of them in `unnamed` (no
        doc of the whole library holds it, not just none of this index, or it is after the library's
        present) rules out every doc lacking it whose year is not that year, undated ones too. `marks`
        (zeros, one per doc at least, handed back as zeros) lets the kernel mark the other lists short
        next to the needed ones instead of galloping into them.
        """
        fast = compiled_kernels()
        if fast is None:
            return None
        dated = dated or {}
        total = sum(weights.values())
        known = [(tid, weight, term) for term, weight in weights.items()
                 if (tid := self._term_ids.get(term)) is not None]  # fmt: skip
        if not any(term in needed for _, _, term in known) or cap <= 0:
            return np.zeros(0, dtype=np.int64)
        if dated and (years is None or len(years) != self.num_docs):
            raise ValueError("a question naming a year needs each doc's year")
        absent = [(year, term in unnamed) for term, year in dated.items() if term not in self._term_ids]
        found = np.empty(cap, dtype=np.int64)
        count = fast.count_holding(
            np.asarray([tid for tid, _, _ in known], dtype=np.int64),
            np.asarray([weight for _, weight, _ in known], dtype=np.float64),
            np.asarray([term in needed for _, _, term in known], dtype=np.bool_),
            np.asarray([dated.get(term, -1) for _, _, term in known], dtype=np.int64),
            np.asarray([term in unnamed for _, _, term in known], dtype=np.bool_),
            np.asarray([year for year, exact in absent if exact], dtype=np.int64),
            np.asarray([year for year, exact in absent if not exact], dtype=np.int64),
            years if dated and years is not None else _NO_YEARS,
            total,
            share,
            cap,
            self._indptr,
            self._doc_ids,
            found,
            marks if marks is not None and len(marks) >= self.num_docs else _NO_MARKS,
        )
        return found[: min(int(count), cap)]

    def holds(self, term: str, docs: IntArray) -> npt.NDArray[np.bool_]:
        """For each of the given docs (ascending ids), whether it contains the term."""
        postings = self.postings(term)
        if not len(postings) or not len(docs):
            return np.zeros(len(docs), dtype=bool)
        where = np.minimum(np.searchsorted(postings, docs), len(postings) - 1)
        found: npt.NDArray[np.bool_] = postings[where] == docs
        return found

    def match(self, query_terms: Sequence[str]) -> tuple[IntArray, FloatArray]:
        """Doc ids (ascending) of every document containing a query term, with their BM25 scores."""
        tids = self._known(query_terms)
        if not tids:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        parts = {tid: self._contribution(tid) for tid in dict.fromkeys(tids)}
        if len(parts) == 1:
            docs, contribution = parts[tids[0]]
            return docs, _repeat_sum(contribution, len(tids))
        return _merge([parts[tid] for tid in tids], self.num_docs)

    def top_k(
        self, query_terms: Sequence[str], k: int, *, tie_rank: IntArray | None = None
    ) -> list[tuple[int, float]]:
        """The best k matching docs as (doc id, score): score desc, then tie_rank asc, then doc id asc."""
        if tie_rank is not None and tie_rank.shape != (self.num_docs,):
            raise ValueError(f"tie_rank must have shape ({self.num_docs},), not {tie_rank.shape}")
        tids = self._known(query_terms)
        if k <= 0 or not tids:
            return []
        fast = compiled_kernels() if math.isfinite(self._high) else None
        if fast is not None and not (self._weak_terms and self._weak_terms.intersection(tids)):
            ranks = _NO_RANK if tie_rank is None else _read_only(tie_rank.astype(np.int64, copy=False))
            arguments = (
                np.asarray(tids, dtype=np.int64),
                k,
                self._indptr,
                self._doc_ids,
                self._tfs,
                self._impacts,
                self._max_weight,
                self._idf,
                self._norm,
                self.k1 + 1,
                self._step,
                self._low,
                self._high,
                ranks,
                tie_rank is not None,
            )
            best, scores = fast.top_k(*arguments, *self._compact_scratch())
            return list(zip(best.tolist(), scores.tolist(), strict=True))
        found = None
        # (the numpy accumulation reads the impacts as they were made: not for a restated index)
        if int(self._lengths[tids].sum()) >= _ACCUMULATE_FROM and not self.loose:
            found = self._accumulated(tids, k)
        if found is None:
            docs, scores = _at_least_kth(*self.match(query_terms), k)
        else:
            docs, scores = found
        ranks = tie_rank[docs] if tie_rank is not None else np.zeros(len(docs), dtype=np.int64)
        order = np.lexsort((docs, ranks, -scores))[:k]
        return [(int(d), float(s)) for d, s in zip(docs[order].tolist(), scores[order].tolist(), strict=True)]

    def _known(self, query_terms: Sequence[str]) -> list[int]:
        """Ids of the query terms in the vocabulary, in query order, repeats kept (rank-bm25 counts them)."""
        return [tid for tid in map(self._term_ids.get, query_terms) if tid is not None]

    def _postings(self, tid: int) -> tuple[int, int]:
        return int(self._indptr[tid]), int(self._indptr[tid + 1])

    def _contribution(self, tid: int) -> tuple[IntArray, FloatArray]:
        """The term's doc ids and idf * (tf*(k1+1) / (tf + norm)) for each, in rank-bm25's operation order."""
        start, end = self._postings(tid)
        docs = self._doc_ids[start:end]
        return docs, self._weigh(tid, self._tfs[start:end], docs)

    def _weigh(self, tid: int, tf: IntArray, docs: IntArray) -> FloatArray:
        weight = (tf * (self.k1 + 1)).astype(np.float64, copy=False)
        denominator = self._norm[docs]
        denominator += tf
        weight /= denominator
        weight *= self._idf[tid]
        return weight

    def _scores_at(self, tids: list[int], docs: IntArray) -> FloatArray:
        """Exact scores of the given (sorted, distinct) docs, found by binary search in each posting list."""
        columns: dict[int, FloatArray] = {}
        for tid in dict.fromkeys(tids):
            start, end = self._postings(tid)
            postings = self._doc_ids[start:end]
            column = np.zeros(len(docs), dtype=np.float64)
            if len(postings) <= len(docs):  # search the shorter array in the longer one
                where = np.minimum(np.searchsorted(docs, postings), len(docs) - 1)
                hit = docs[where] == postings
                column[where[hit]] = self._weigh(tid, self._tfs[start:end][hit], postings[hit])
            else:
                where = np.minimum(np.searchsorted(postings, docs), len(postings) - 1)
                hit = postings[where] == docs
                column[hit] = self._weigh(tid, self._tfs[start:end][where[hit]], docs[hit])
            columns[tid] = column
        scores = np.zeros(len(docs), dtype=np.float64)
        for tid in tids:  # a missing term adds 0.0, as in rank-bm25, so the sums are the same
            scores += columns[tid]
        return scores

    def _accumulated(self, tids: list[int], k: int) -> tuple[IntArray, FloatArray] | None:
        """The docs scoring at least the k-th best, by term-at-a-time accumulation with early quitting.

        Terms go strongest bound first into a dense scratch array, as lower bounds read from one-byte
        impacts. Once the k-th best lower bound beats the bounds of every term still to come, no unseen
        doc can enter the top k: the other lists are only probed for the docs already seen that still
        can. The few candidates left are scored exactly, in rank-bm25's order.
        """
        distinct = list(dict.fromkeys(tids))
        idf = self._idf
        if len(distinct) < 2 or any(idf[tid] <= 0 for tid in distinct):
            return None  # (with idf <= 0 a match may score 0 or less: "touched" no longer means matched)
        repeats = Counter(tids)
        scale = {tid: float(idf[tid]) * repeats[tid] for tid in distinct}
        bound = {tid: float(self._max_weight[tid]) * scale[tid] for tid in distinct}
        order = sorted(distinct, key=bound.__getitem__, reverse=True)
        remaining = sum(bound.values())  # the most an unseen doc can score
        error = 0.0  # the most the lower bounds of a seen doc fall short of its partial score
        acc = self._scratch()
        seen: list[IntArray] = []
        theta = -math.inf  # a lower bound of the k-th best score
        reach = 0.0
        try:
            for tid in order:
                if theta > remaining * (1 + _SLACK):
                    break  # no unseen doc can reach the top k
                start, end = self._postings(tid)
                docs = self._doc_ids[start:end]
                np.add.at(acc, docs, np.take(self._levels * scale[tid], self._impacts[start:end]))
                seen.append(docs)
                remaining -= bound[tid]
                error += self._step * scale[tid]
                reach += bound[tid]
                if reach > remaining and len(seen) < len(order):
                    theta = max(theta, _kth_largest(np.take(acc, docs), k))
            floor = 0.0
            if sum(map(len, seen)) * _DENSE_SHARE >= len(acc):
                # Most of the scratch array is touched: one pass over it beats gathering list by list.
                theta = max(theta, _kth_largest(np.take(acc, seen[0]), k))
                floor = theta - (remaining + error) * (1 + _SLACK)
            candidates: IntArray
            if floor > 0:  # (untouched docs hold 0: a positive floor leaves only docs seen)
                candidates = np.flatnonzero(acc >= floor)
                partial = acc[candidates]
                acc.fill(0.0)
            else:
                parts = [np.take(acc, docs) for docs in seen]
                for docs in seen:
                    acc[docs] = 0.0
                docs = np.concatenate(seen) if len(seen) > 1 else seen[0]
                values = np.concatenate(parts) if len(parts) > 1 else parts[0]
                keep = values >= theta - (remaining + error) * (1 + _SLACK)
                candidates, partial = _distinct(docs[keep], values[keep])
        except BaseException:
            acc.fill(0.0)
            raise
        theta = max(theta, _kth_largest(partial, k))
        for tid in order[len(seen) :]:
            keep = partial >= theta - (remaining + error) * (1 + _SLACK)
            candidates, partial = candidates[keep], partial[keep]
            remaining -= bound[tid]
            start, end = self._postings(tid)
            if len(candidates) * _PROBE_SHARE < end - start:
                partial += self._lookup(tid, candidates) * repeats[tid]
            else:
                # Many candidates: spreading the list's lower bounds over the scratch array and reading
                # them back costs less than a binary search per candidate.
                docs = self._doc_ids[start:end]
                try:
                    acc[docs] = np.take(self._levels * scale[tid], self._impacts[start:end])
                    partial += np.take(acc, candidates)
                finally:
                    acc[docs] = 0.0
                error += self._step * scale[tid]
            theta = max(theta, _kth_largest(partial, k))
        keep = partial >= theta - error * (1 + _SLACK)
        candidates = candidates[keep]
        return _at_least_kth(candidates, self._scores_at(tids, candidates), k)

    def _lookup(self, tid: int, docs: IntArray) -> FloatArray:
        """The term's contribution for each of the given sorted docs (0.0 where it does not occur)."""
        start, end = self._postings(tid)
        postings = self._doc_ids[start:end]
        column = np.zeros(len(docs), dtype=np.float64)
        if not len(docs):
            return column
        where = np.minimum(np.searchsorted(postings, docs), len(postings) - 1)
        hit = postings[where] == docs
        column[hit] = self._weigh(tid, self._tfs[start:end][where[hit]], docs[hit])
        return column

    def _compact_scratch(
        self,
    ) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """The compiled path's scratch, one set per thread, handed back as it came: 16-bit accumulators
        (zeros), room for the ids of the docs touched, and each doc's slot in a heap (-1s)."""
        scratch: tuple[npt.NDArray[np.uint16], npt.NDArray[np.int32], npt.NDArray[np.int32]] | None
        scratch = getattr(self._local, "compact", None)
        if scratch is None:
            scratch = (
                np.zeros(self.num_docs, dtype=np.uint16),
                np.empty(self.num_docs, dtype=np.int32),
                np.full(self.num_docs, -1, dtype=np.int32),
            )
            self._local.compact = scratch
        return scratch

    def _scratch(self) -> FloatArray:
        """A zeroed float64 array of num_docs, one per thread, returned zeroed after each use."""
        acc: FloatArray | None = getattr(self._local, "acc", None)
        if acc is None:
            acc = np.zeros(self.num_docs, dtype=np.float64)
            self._local.acc = acc
        return acc

    def save(self, directory: Path) -> None:
        """Write the index as .npy arrays, vocabulary.json and header.json (written last)."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays = (self._indptr, self._doc_ids, self._tfs, self._doc_len, self._max_weight, self._impacts)
        for name, array in zip(_ARRAYS, arrays, strict=True):
            np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        (directory / "vocabulary.json").write_text(json.dumps(self._vocabulary, ensure_ascii=False), "utf-8")
        header = {
            "format": _FORMAT,
            "version": INDEX_VERSION,
            "num_docs": self.num_docs,
            "vocabulary_size": self.vocabulary_size,
            "num_postings": self.num_postings,
            "total_tokens": int(self._doc_len.sum(dtype=np.int64)),
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
        }
        (directory / "header.json").write_text(json.dumps(header, indent=1), "utf-8")

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> BM25Index:
        """Read a snapshot written by save(); ValueError if it is missing, corrupt or of another version."""
        try:
            header = json.loads((directory / "header.json").read_text("utf-8"))
            if not isinstance(header, dict) or header.get("format") != _FORMAT:
                raise ValueError("not a BM25 index header")
            if header.get("version") != INDEX_VERSION:
                raise ValueError(f"index version {header.get('version')!r}, expected {INDEX_VERSION}")
            vocabulary = json.loads((directory / "vocabulary.json").read_text("utf-8"))
            indptr, doc_ids, tfs, doc_len, max_weight, impacts = (
                load_array(directory / f"{name}.npy", mmap=mmap) for name in _ARRAYS
            )
            n_docs, n_terms, n_postings = (
                header["num_docs"],
                header["vocabulary_size"],
                header["num_postings"],
            )
            checks = (
                isinstance(vocabulary, list) and all(isinstance(t, str) for t in vocabulary),
                len(vocabulary) == n_terms,
                indptr.dtype == np.int64 and indptr.shape == (n_terms + 1,),
                doc_ids.dtype == np.int32 and doc_ids.shape == (n_postings,),
                tfs.dtype.kind == "u" and tfs.shape == (n_postings,),
                doc_len.dtype == np.int32 and doc_len.shape == (n_docs,),
                max_weight.dtype == np.float64 and max_weight.shape == (n_terms,),
                impacts.dtype == np.uint8 and impacts.shape == (n_postings,),
                int(indptr[0]) == 0 and int(indptr[-1]) == n_postings,
                bool(np.all(indptr[1:] > indptr[:-1])),  # every term has a posting
                n_postings == 0 or (int(doc_ids.min()) >= 0 and int(doc_ids.max()) < n_docs),
                int(doc_len.sum(dtype=np.int64)) == header["total_tokens"],
            )
            if not all(checks):
                raise ValueError("arrays do not match the header")
            return cls(
                vocabulary,
                indptr,
                doc_ids,
                tfs,
                doc_len,
                max_weight,
                impacts,
                k1=float(header["k1"]),
                b=float(header["b"]),
                epsilon=float(header["epsilon"]),
            )
        except (OSError, EOFError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"unusable index snapshot in {directory}: {exc}") from exc


def _int64(docs: IntArray) -> npt.NDArray[np.int64]:
    """Doc ids as a writable int64 array (the signature the kernels are compiled for)."""
    if docs.dtype == np.int64 and docs.flags.writeable and docs.flags.c_contiguous:
        return docs  # type: ignore[return-value]
    return np.array(docs, dtype=np.int64)


def _read_only(array: IntArray) -> IntArray:
    """A read-only view (the kernels are compiled for read-only arrays, like the index's own)."""
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def tf_dtype(tfs: IntArray) -> type[np.unsignedinteger[Any]]:
    """The smallest unsigned type that holds these term frequencies (one byte for almost every index)."""
    largest = int(tfs.max()) if len(tfs) else 0
    return np.uint8 if largest < 1 << 8 else np.uint16 if largest < 1 << 16 else np.uint32


def okapi_idf(doc_freq: IntArray, n_docs: int, epsilon: float) -> tuple[FloatArray, float]:
    """rank-bm25's idf per term (negative ones floored at epsilon * average idf) and the average."""
    if not len(doc_freq):
        return np.zeros(0, dtype=np.float64), 0.0
    # math.log, not np.log (they differ in the last bit now and then); once per distinct frequency,
    # found by counting (no sort of a whole vocabulary).
    values = np.flatnonzero(np.bincount(doc_freq))
    logs = np.zeros(int(values[-1]) + 1, dtype=np.float64)
    logs[values] = [math.log(n_docs - n + 0.5) - math.log(n + 0.5) for n in values.tolist()]
    idf = logs[doc_freq]
    # cumsum adds left to right like rank-bm25's loop (np.sum would add pairwise).
    average = float(np.cumsum(idf)[-1]) / len(idf)
    idf[idf < 0] = epsilon * average
    return idf, average


class _TermIds(dict[str, int]):
    """Term → id, giving each new term the next id on first lookup (so a C-level map() assigns ids)."""

    def __missing__(self, term: str) -> int:
        tid = self[term] = len(self)
        return tid


def _weights(
    indptr: IntArray, doc_ids: IntArray, tfs: IntArray, norm: FloatArray, k1: float, step: float
) -> tuple[FloatArray, npt.NDArray[np.uint8]]:
    """Per term the largest tf*(k1+1) / (tf + norm); per posting its impact level floor(weight / step)."""
    n_terms = len(indptr) - 1
    largest = np.zeros(n_terms, dtype=np.float64)
    impacts = np.empty(len(doc_ids), dtype=np.uint8)
    first = 0
    while first < n_terms:
        # Whole terms per pass, about _CHUNK_POSTINGS postings at a time.
        last = int(np.searchsorted(indptr, indptr[first] + _CHUNK_POSTINGS, side="right")) - 1
        last = min(max(last, first + 1), n_terms)
        start, end = int(indptr[first]), int(indptr[last])
        tf = tfs[start:end]
        weight = (tf * (k1 + 1)).astype(np.float64, copy=False)
        denominator = norm[doc_ids[start:end]]
        denominator += tf
        weight /= denominator
        largest[first:last] = np.maximum.reduceat(weight, indptr[first:last] - start)
        weight /= step
        np.minimum(weight, _LEVELS - 1, out=weight)
        impacts[start:end] = weight  # truncation is the floor: weights are positive
        first = last
    return largest, impacts


def _repeat_sum(contribution: FloatArray, times: int) -> FloatArray:
    """0.0 + c + c + ... (times terms), as rank-bm25 scores a query repeating one term."""
    scores = contribution.copy()
    for _ in range(times - 1):
        scores += contribution
    return scores


def _kth_largest(values: FloatArray, k: int) -> float:
    """The k-th largest of values (-inf when there are fewer than k)."""
    if len(values) < k:
        return -math.inf
    step = len(values) // (16 * k)
    if step > 1:
        # The k-th best of a sample is at most the k-th best of all: it cuts the array cheaply first.
        sample = values[::step]
        values = values[values >= np.partition(sample, len(sample) - k)[len(sample) - k]]
    return float(np.partition(values, len(values) - k)[len(values) - k])


def _distinct(docs: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """Docs sorted and made distinct, each with its value (equal for every copy of a doc)."""
    order = np.argsort(docs, kind="stable")
    docs, values = docs[order], values[order]
    first = np.empty(len(docs), dtype=bool)
    first[:1] = True
    np.not_equal(docs[1:], docs[:-1], out=first[1:])
    return docs[first], values[first]


def _at_least_kth(docs: IntArray, scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """The docs scoring at least the k-th best score (ties at the cut included, for the tie rule)."""
    step = len(scores) // (16 * k)
    if step > 1:
        # The k-th best of a sample is a lower bound of the true k-th best: a cheap first cut.
        sample = scores[::step]
        keep = scores >= np.partition(sample, len(sample) - k)[len(sample) - k]
        docs, scores = docs[keep], scores[keep]
    if len(scores) > k:
        best = np.argpartition(scores, len(scores) - k)[len(scores) - k :]
        keep = scores >= scores[best].min()
        docs, scores = docs[keep], scores[keep]
    return docs, scores


def _merge(parts: list[tuple[IntArray, FloatArray]], n_docs: int) -> tuple[IntArray, FloatArray]:
    """Sum (docs, contributions) lists per doc, adding in list order as rank-bm25 adds term after term."""
    docs = np.concatenate([part[0] for part in parts])
    contributions = np.concatenate([part[1] for part in parts])
    # bincount adds in input order.
    if len(docs) * 2 >= n_docs:
        found = np.flatnonzero(np.bincount(docs, minlength=n_docs))
        sums = np.bincount(docs, weights=contributions, minlength=n_docs)[found]
        return found, sums.astype(np.float64, copy=False)
    # Posting lists are sorted runs, which a stable sort (timsort) merges in O(n log runs); stability
    # keeps each doc's contributions in list order.
    order = np.argsort(docs, kind="stable")
    docs = docs[order]
    first = np.empty(len(docs), dtype=bool)
    first[:1] = True
    np.not_equal(docs[1:], docs[:-1], out=first[1:])
    found = docs[first]
    sums = np.bincount(np.cumsum(first) - 1, weights=contributions[order], minlength=len(found))
    return found, sums.astype(np.float64, copy=False)
