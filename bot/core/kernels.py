"""The search's hot loops, compiled with numba when it is installed: one pass per question.

Written as plain Python over numpy arrays (so they also run, slowly, uncompiled) and compiled by numba in
a background thread once prepare() is called (a large Library does at its first search), with numba's
on-disk cache: the machine code is kept beside this file, or in the user's cache directory when the
install is read-only (NUMBA_CACHE_DIR overrides both; without any writable place it is compiled in
memory). Until the kernels are ready, or when numba is missing or compiling fails, `ready()` says None
and the index answers with its numpy path, which ranks identically.
Must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.integer[Any]]
FloatArray = npt.NDArray[np.float64]
SLACK = 1e-9  # relative allowance for float rounding when comparing sums of bounds with exact scores


def _distinct_terms(
    query: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """The query's distinct terms in first-occurrence order, how often each is asked, each query
    slot's distinct term, and how many there are."""
    n = len(query)
    distinct = np.empty(n, dtype=np.int64)
    repeats = np.zeros(n, dtype=np.int64)
    slot = np.empty(n, dtype=np.int64)
    m = 0
    for q in range(n):
        found = -1
        for j in range(m):
            if distinct[j] == query[q]:
                found = j
                break
        if found < 0:
            distinct[m] = query[q]
            found = m
            m += 1
        repeats[found] += 1
        slot[q] = found
    return distinct, repeats, slot, m


def _by_bound(bound: FloatArray, m: int, strongest_first: bool) -> npt.NDArray[np.int64]:
    """Positions 0..m-1 ordered by bound (insertion sort: questions hold a handful of terms)."""
    order = np.arange(m)
    for i in range(1, m):
        j = i
        while (
            j > 0
            and (bound[order[j - 1]] < bound[order[j]]) == strongest_first
            and (bound[order[j - 1]] != bound[order[j]])
        ):
            order[j - 1], order[j] = order[j], order[j - 1]
            j -= 1
    return order


CANDIDATE = 0x8000  # the high bit of an accumulator: the doc is still a candidate
PREPARING_SWITCH_S = 0.0002  # the interpreter's thread switch interval while the kernels are prepared
ACC_UNITS = 30_000  # a question's lower bounds, summed, fit in 15 bits (plus the +1 marking a doc seen)


def top_k(
    query: npt.NDArray[np.int64],
    k: int,
    indptr: npt.NDArray[np.int64],
    doc_ids: npt.NDArray[np.int32],
    tfs: IntArray,
    impacts: npt.NDArray[np.uint8],
    max_weight: FloatArray,
    idf: FloatArray,
    norm: FloatArray,
    k1_plus_1: float,
    step: float,
    low: float,
    high: float,
    tie_rank: npt.NDArray[np.int64],
    ranked: bool,
    acc: npt.NDArray[np.uint16],
    seen: npt.NDArray[np.int32],
    where: npt.NDArray[np.int32],
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The best k docs for the query's term ids (query order, repeats kept; every idf > 0), exactly:
    docs and scores sorted by score desc, then tie_rank asc (when `ranked`), then doc id asc.

    Term at a time into 16-bit accumulators, strongest bound first (MaxScore). Each posting adds its
    lower bound (its impact level, in units of 1/ACC_UNITS of the question's total bound) to the doc's
    accumulator, and a heap of the k best lower bounds gives, at every posting, a lower bound of the
    k-th best score. Once that beats the most the remaining terms could give an unseen doc, their lists
    are only read for the docs still in reach (marked in the accumulator's high bit; galloped to when
    they are few). The docs left are scored exactly, with rank-bm25's float operations in its order:
    idf * (tf*(k1+1) / (tf + norm)) per term, added term by term in query order from 0.0. `acc` (zeros),
    `seen` and `where` (-1s: a doc's slot in the heap), one per doc, are scratch, handed back as they
    came. Even a question with few postings in all goes this way: scoring every doc it holds exactly,
    doc at a time, was about three times slower on questions of up to 2,048 postings.

    `low` <= 1 <= `high` widen the bounds when the impacts and max_weight were made under other
    statistics than `norm` holds now (a segment of a growing archive, whose average length moved):
    every weight then lies within [low, high] times the weight they were made for, so a posting at
    level L weighs at least L * step * low and less than (L + 1) * step * high. 1, 1 when they match.
    """
    distinct, repeats, slot, m = _distinct_terms(query)
    bound = np.empty(m, dtype=np.float64)
    total = 0.0
    for j in range(m):
        bound[j] = max_weight[distinct[j]] * idf[distinct[j]] * repeats[j] * high
        total += bound[j]
    order = _by_bound(bound, m, True)  # strongest first
    unit = total / ACC_UNITS
    # lut[i, level]: the lower bound of a posting of the i-th strongest term, in units, rounded down.
    lut = np.empty((m, 256), dtype=np.int64)
    error = np.empty(m, dtype=np.float64)  # the most a posting's lower bound falls short of its weight
    for i in range(m):
        j = order[i]
        per_level = step * idf[distinct[j]] * repeats[j]
        for level in range(256):
            lut[i, level] = min(int(level * per_level * low / unit), ACC_UNITS)
        # (L + 1) * high - L * low, at its largest level: the widest gap between a posting's bounds.
        error[i] = per_level * (255 * (high - low) + high) + unit
    heap_value = np.empty(k, dtype=np.int64)
    heap_doc = np.empty(k, dtype=np.int64)
    count = 0
    floor = -1  # a doc must exceed this lower bound to enter the heap (-1 until it is full)
    remaining = total
    slack = 0.0
    touched = 0
    first_probe = m
    for i in range(m):
        theta = heap_value[0] * unit if count == k else -math.inf
        if count == k and remaining * (1 + SLACK) < theta:
            first_probe = i  # no unseen doc can reach the k-th best: the rest is only looked up
            break
        tid = distinct[order[i]]
        after = remaining - bound[order[i]]  # the most the terms after this one add
        per_level = step * idf[tid] * repeats[order[i]] * high
        # A doc first met here at a level below `fresh_from` cannot reach the k-th best even with
        # every later term: it is not worth an accumulator.
        fresh_from = _least_level(floor, unit, after, per_level) if count == k else 0
        for p in range(indptr[tid], indptr[tid + 1]):
            d = doc_ids[p]
            a = int(acc[d])
            if a == 0:
                if impacts[p] < fresh_from:
                    continue
                seen[touched] = d
                touched += 1
                a = 1
            a += lut[i, impacts[p]]
            acc[d] = a
            if a - 1 > floor:
                count = _offer(heap_value, heap_doc, where, count, k, a - 1, int(d))
                if count == k and heap_value[0] != floor:
                    floor = int(heap_value[0])
                    fresh_from = _least_level(floor, unit, after, per_level)
        remaining = after
        slack += error[i]
    # Candidates: the docs seen that can still reach the k-th best; marked, listed at the front of seen.
    candidates = _narrow(acc, seen, touched, heap_value, count, k, unit, slack + remaining, False)
    is_sorted = False
    for i in range(first_probe, m):
        tid = distinct[order[i]]
        start, end = indptr[tid], indptr[tid + 1]
        if candidates * 8 < end - start:
            if not is_sorted:
                seen[:candidates] = np.sort(seen[:candidates])
                is_sorted = True
            p = start
            for c in range(candidates):
                d = seen[c]
                p = _gallop(doc_ids, p, end, d)
                if p >= end:
                    break
                if doc_ids[p] == d:
                    a = int(acc[d]) + lut[i, impacts[p]]
                    acc[d] = a
                    value = (a & (CANDIDATE - 1)) - 1
                    if value > floor:
                        count = _offer(heap_value, heap_doc, where, count, k, value, int(d))
                        floor = int(heap_value[0]) if count == k else -1
        else:
            for p in range(start, end):
                d = doc_ids[p]
                a = int(acc[d])
                if a & CANDIDATE:
                    a += lut[i, impacts[p]]
                    acc[d] = a
                    value = (a & (CANDIDATE - 1)) - 1
                    if value > floor:
                        count = _offer(heap_value, heap_doc, where, count, k, value, int(d))
                        floor = int(heap_value[0]) if count == k else -1
        remaining -= bound[order[i]]
        slack += error[i]
        candidates = _narrow(acc, seen, candidates, heap_value, count, k, unit, slack + remaining, True)
    survivors = np.sort(seen[:candidates])
    for c in range(candidates):
        acc[survivors[c]] = 0
    for i in range(count):
        where[heap_doc[i]] = -1
    return _exact_top(
        survivors, query, k, indptr, doc_ids, tfs, idf, norm, k1_plus_1, tie_rank, ranked, distinct, m, slot
    )


def _least_level(floor: int, unit: float, after: float, per_level: float) -> int:
    """The lowest impact level at which a doc met for the first time can still reach a lower bound of
    `floor` units, when the terms after this one add at most `after` and a posting at level L at most
    (L + 1) * per_level (with room for float rounding)."""
    theta = floor * unit / (1 + 2 * SLACK)
    least = math.floor((theta - after) / per_level) - 1
    return min(max(least, 0), 256)


def _offer(
    heap_value: npt.NDArray[np.int64],
    heap_doc: npt.NDArray[np.int64],
    where: npt.NDArray[np.int32],
    count: int,
    k: int,
    value: int,
    doc: int,
) -> int:
    """Raise a doc's lower bound in the heap of the k best (a min-heap on value), or enter it.

    where[doc] is the doc's slot in the heap, -1 when it is not there."""
    i = int(where[doc])
    if i >= 0:
        heap_value[i] = value
        _sift_down(heap_value, heap_doc, where, count, i)
        return count
    if count < k:
        i = count
        while i > 0:
            parent = (i - 1) >> 1
            if heap_value[parent] <= value:
                break
            heap_value[i], heap_doc[i] = heap_value[parent], heap_doc[parent]
            where[heap_doc[i]] = i
            i = parent
        heap_value[i], heap_doc[i] = value, doc
        where[doc] = i
        return count + 1
    if value > heap_value[0]:
        where[heap_doc[0]] = -1
        heap_value[0], heap_doc[0] = value, doc
        where[doc] = 0
        _sift_down(heap_value, heap_doc, where, count, 0)
    return count


def _sift_down(
    heap_value: npt.NDArray[np.int64],
    heap_doc: npt.NDArray[np.int64],
    where: npt.NDArray[np.int32],
    count: int,
    i: int,
) -> None:
    value, doc = heap_value[i], heap_doc[i]
    while True:
        child = 2 * i + 1
        if child >= count:
            break
        if child + 1 < count and heap_value[child + 1] < heap_value[child]:
            child += 1
        if heap_value[child] >= value:
            break
        heap_value[i], heap_doc[i] = heap_value[child], heap_doc[child]
        where[heap_doc[i]] = i
        i = child
    heap_value[i], heap_doc[i] = value, doc
    where[doc] = i


def _narrow(
    acc: npt.NDArray[np.uint16],
    seen: npt.NDArray[np.int32],
    listed: int,
    heap_value: npt.NDArray[np.int64],
    count: int,
    k: int,
    unit: float,
    reach: float,
    marked: bool,
) -> int:
    """Keep (marked, at the front of seen) the listed docs whose bound reaches the k-th best lower
    bound; clear the accumulators of the others. Returns how many are kept."""
    theta = heap_value[0] * unit if count == k else -math.inf
    kept = 0
    for c in range(listed):
        d = seen[c]
        a = int(acc[d])
        value = (a & (CANDIDATE - 1)) - 1
        if (value * unit + reach) * (1 + SLACK) < theta:
            acc[d] = 0
        else:
            if not marked:
                acc[d] = a | CANDIDATE
            seen[kept] = d
            kept += 1
    return kept


def _gallop(doc_ids: npt.NDArray[np.int32], p: int, end: int, doc: int) -> int:
    """The first position from p on (before end) whose doc id is at least doc."""
    if p >= end or doc_ids[p] >= doc:
        return p
    low = p
    jump = 1
    high = p + 1
    while high < end and doc_ids[high] < doc:
        low = high
        jump *= 2
        high = low + jump
    if high > end:
        high = end
    low += 1
    while low < high:
        middle = (low + high) >> 1
        if doc_ids[middle] < doc:
            low = middle + 1
        else:
            high = middle
    return low


def _exact_top(
    docs: npt.NDArray[np.int32],
    query: npt.NDArray[np.int64],
    k: int,
    indptr: npt.NDArray[np.int64],
    doc_ids: npt.NDArray[np.int32],
    tfs: IntArray,
    idf: FloatArray,
    norm: FloatArray,
    k1_plus_1: float,
    tie_rank: npt.NDArray[np.int64],
    ranked: bool,
    distinct: npt.NDArray[np.int64],
    m: int,
    slot: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The best k of the given docs (ascending ids), scored exactly, in the tie rule's order."""
    n = len(query)
    cursor = np.empty(m, dtype=np.int64)
    for j in range(m):
        cursor[j] = indptr[distinct[j]]
    contribution = np.empty(m, dtype=np.float64)
    heap_score = np.empty(k, dtype=np.float64)
    heap_rank = np.empty(k, dtype=np.int64)
    heap_doc = np.empty(k, dtype=np.int64)
    count = 0
    for c in range(len(docs)):
        doc = int(docs[c])
        base = norm[doc]
        for j in range(m):
            tid = distinct[j]
            end = indptr[tid + 1]
            p = _gallop(doc_ids, cursor[j], end, doc)
            cursor[j] = p
            if p < end and doc_ids[p] == doc:
                tf = np.float64(tfs[p])
                contribution[j] = tf * k1_plus_1 / (tf + base) * idf[tid]
            else:
                contribution[j] = 0.0
        score = 0.0
        for q in range(n):
            score += contribution[slot[q]]
        rank = int(tie_rank[doc]) if ranked else 0
        count = _offer_exact(heap_score, heap_rank, heap_doc, count, k, score, rank, doc)
    return _sorted_best(heap_score, heap_rank, heap_doc, count)


def _worse(s1: float, r1: int, d1: int, s2: float, r2: int, d2: int) -> bool:
    """Whether (s1, r1, d1) ranks below (s2, r2, d2): lower score, then higher tie rank, then higher id."""
    return s1 < s2 or (s1 == s2 and (r1 > r2 or (r1 == r2 and d1 > d2)))


def _offer_exact(
    heap_score: FloatArray,
    heap_rank: npt.NDArray[np.int64],
    heap_doc: npt.NDArray[np.int64],
    count: int,
    k: int,
    score: float,
    rank: int,
    doc: int,
) -> int:
    """Enter a scored doc into the heap of the k best (its root is the worst of them)."""
    if count < k:
        i = count
        while i > 0:
            parent = (i - 1) >> 1
            if _worse(heap_score[parent], heap_rank[parent], heap_doc[parent], score, rank, doc):
                break
            heap_score[i], heap_rank[i], heap_doc[i] = heap_score[parent], heap_rank[parent], heap_doc[parent]
            i = parent
        heap_score[i], heap_rank[i], heap_doc[i] = score, rank, doc
        return count + 1
    if not _worse(heap_score[0], heap_rank[0], heap_doc[0], score, rank, doc):
        return count
    _sift_exact(heap_score, heap_rank, heap_doc, count, 0, score, rank, doc)
    return count


def _sift_exact(
    heap_score: FloatArray,
    heap_rank: npt.NDArray[np.int64],
    heap_doc: npt.NDArray[np.int64],
    count: int,
    i: int,
    score: float,
    rank: int,
    doc: int,
) -> None:
    """Place (score, rank, doc) at slot i and sift it down among the first count entries."""
    while True:
        child = 2 * i + 1
        if child >= count:
            break
        other = child + 1
        if other < count and _worse(
            heap_score[other],
            heap_rank[other],
            heap_doc[other],
            heap_score[child],
            heap_rank[child],
            heap_doc[child],
        ):
            child = other
        if not _worse(heap_score[child], heap_rank[child], heap_doc[child], score, rank, doc):
            break
        heap_score[i], heap_rank[i], heap_doc[i] = heap_score[child], heap_rank[child], heap_doc[child]
        i = child
    heap_score[i], heap_rank[i], heap_doc[i] = score, rank, doc


def _sorted_best(
    heap_score: FloatArray, heap_rank: npt.NDArray[np.int64], heap_doc: npt.NDArray[np.int64], count: int
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The heap's entries, best first (popping the worst into the back)."""
    out_doc = np.empty(count, dtype=np.int64)
    out_score = np.empty(count, dtype=np.float64)
    size = count
    while size > 0:
        out_doc[size - 1] = heap_doc[0]
        out_score[size - 1] = heap_score[0]
        size -= 1
        if size > 0:
            last = (heap_score[size], heap_rank[size], heap_doc[size])
            _sift_exact(heap_score, heap_rank, heap_doc, size, 0, *last)
    return out_doc, out_score


def exact_scores(
    query: npt.NDArray[np.int64],
    docs: npt.NDArray[np.int64],
    indptr: npt.NDArray[np.int64],
    doc_ids: npt.NDArray[np.int32],
    tfs: IntArray,
    idf: FloatArray,
    norm: FloatArray,
    k1_plus_1: float,
) -> FloatArray:
    """Exact BM25Okapi scores of the given docs (ascending, distinct), as top_k computes them."""
    distinct, _, slot, m = _distinct_terms(query)
    columns = np.zeros((m, len(docs)), dtype=np.float64)
    for j in range(m):
        tid = distinct[j]
        p = indptr[tid]
        end = indptr[tid + 1]
        for c in range(len(docs)):
            p = _gallop(doc_ids, p, end, docs[c])
            if p >= end:
                break
            if doc_ids[p] == docs[c]:
                tf = np.float64(tfs[p])
                columns[j, c] = tf * k1_plus_1 / (tf + norm[docs[c]]) * idf[tid]
    scores = np.zeros(len(docs), dtype=np.float64)
    for c in range(len(docs)):
        score = 0.0
        for q in range(len(query)):
            score += columns[slot[q], c]
        scores[c] = score
    return scores


def held_weights(
    terms: npt.NDArray[np.int64],
    weights: FloatArray,
    docs: npt.NDArray[np.int64],
    indptr: npt.NDArray[np.int64],
    doc_ids: npt.NDArray[np.int32],
) -> FloatArray:
    """For each of the given docs (ascending), the sum of the weights of the terms it holds, added
    term by term in the given order from 0.0."""
    held = np.zeros(len(docs), dtype=np.float64)
    for j in range(len(terms)):
        p = indptr[terms[j]]
        end = indptr[terms[j] + 1]
        for c in range(len(docs)):
            p = _gallop(doc_ids, p, end, docs[c])
            if p >= end:
                break
            if doc_ids[p] == docs[c]:
                held[c] += weights[j]
    return held


def count_holding(
    terms: npt.NDArray[np.int64],
    weights: FloatArray,
    needed: npt.NDArray[np.bool_],
    dated: npt.NDArray[np.int64],
    beyond: npt.NDArray[np.bool_],
    exact_years: npt.NDArray[np.int64],
    absent_years: npt.NDArray[np.int64],
    years: npt.NDArray[np.int32],
    total: float,
    share: float,
    cap: int,
    indptr: npt.NDArray[np.int64],
    doc_ids: npt.NDArray[np.int32],
    found: npt.NDArray[np.int64],
    marks: npt.NDArray[np.uint8],
) -> int:
    """How many docs holding one of the needed terms hold terms worth at least `share` of `total`, where
    a doc's held weight adds the weights of its terms in the given order from 0.0; counted up to cap.
    The first len(found) of those docs (ascending) are written to `found`.

    The year rule (relevance_of's): a term naming a year (dated[j] >= 0) that a doc lacks rules the doc
    out when it is dated another year, or undated too where beyond[j] (a year after the library's
    present), and so does each of `absent_years` (years some doc names, none of these); each of
    `exact_years` (years no doc names) rules out every doc not dated that year. Doc at a
    time over the needed lists; the other lists are galloped to only while they can still decide the
    doc: dated terms first, then the heaviest, stopping once the doc is sure to pass or to fail (with a
    margin for rounding; a doc too close to call is added up exactly). It stops at the cap."""
    m = len(terms)
    cursor = np.empty(m, dtype=np.int64)
    end = np.empty(m, dtype=np.int64)
    for j in range(m):
        cursor[j] = indptr[terms[j]]
        end[j] = indptr[terms[j] + 1]
    # The other lists in the order they are asked: dated ones first (a miss can rule the doc out), then
    # the heaviest; `after[i]` is what the lists from the i-th on could still add.
    others = np.empty(m, dtype=np.int64)
    n_others = 0
    for j in range(m):
        if not needed[j] and dated[j] >= 0:
            others[n_others] = j
            n_others += 1
    light_from = n_others
    for j in np.argsort(-weights):
        if not needed[j] and dated[j] < 0:
            others[n_others] = j
            n_others += 1
    after = np.zeros(n_others + 1, dtype=np.float64)
    for i in range(n_others - 1, -1, -1):
        after[i] = after[i + 1] + weights[others[i]]
    # Other lists short next to the needed ones are marked in `marks` (a bit each, up to eight), so a
    # doc is looked up there by one read instead of a gallop: cheaper than galloping once the needed
    # lists are long (a gallop costs tens of nanoseconds, marking a posting a few).
    reading = 0
    for j in range(m):
        if needed[j]:
            reading += end[j] - cursor[j]
    bit = np.zeros(m, dtype=np.uint8)
    marked = 0
    if len(marks) > 0:
        for i in range(n_others):
            j = others[i]
            if marked < 8 and end[j] - cursor[j] <= MARK_SHARE * reading:
                bit[j] = np.uint8(1 << marked)
                marked += 1
                for p in range(cursor[j], end[j]):
                    marks[doc_ids[p]] |= bit[j]
    dated_years = len(years) > 0
    sure = share * total * (1 + 1e-9)  # held at least this: passes however the sum is rounded
    hopeless = share * total * (1 - 1e-9)  # at most this: fails
    holds = np.zeros(m, dtype=np.bool_)
    none_left = np.iinfo(np.int64).max
    count = 0
    while count < cap:
        doc = none_left
        for j in range(m):
            if needed[j] and cursor[j] < end[j] and doc_ids[cursor[j]] < doc:
                doc = int(doc_ids[cursor[j]])
        if doc == none_left:
            break
        year = years[doc] if dated_years else -1
        fits = True
        for y in exact_years:
            if year != y:
                fits = False
        for y in absent_years:
            if year >= 0 and year != y:
                fits = False
        held = 0.0  # in any order: only for the early decisions
        for j in range(m):
            holds[j] = False
            if needed[j]:
                p = cursor[j]
                if p < end[j] and doc_ids[p] == doc:
                    holds[j] = True
                    held += weights[j]
                    cursor[j] = p + 1
                elif dated[j] >= 0 and (year >= 0 or beyond[j]) and year != dated[j]:
                    fits = False
        decided = not fits
        for i in range(n_others):
            if decided:
                break
            if i >= light_from:
                if held >= sure:
                    decided = True  # passes: the rest cannot take it away
                    break
                if held + after[i] < hopeless:
                    fits = False  # fails: the rest cannot bring it up
                    break
            j = others[i]
            if bit[j] != 0:
                here = (marks[doc] & bit[j]) != 0
            else:
                p = _gallop(doc_ids, cursor[j], end[j], doc)
                cursor[j] = p
                here = p < end[j] and doc_ids[p] == doc
            if here:
                holds[j] = True
                held += weights[j]
            elif dated[j] >= 0 and (year >= 0 or beyond[j]) and year != dated[j]:
                fits = False
                break
        if fits and not decided:
            exact = 0.0
            for j in range(m):
                if holds[j]:
                    exact += weights[j]
            fits = max(exact / total, 0.0) >= share
        if fits:
            if count < len(found):
                found[count] = doc
            count += 1
    for j in range(m):
        if bit[j] != 0:
            for p in range(indptr[terms[j]], end[j]):
                marks[doc_ids[p]] = 0
    return count


MARK_SHARE = 2.0  # count_holding marks another list when at most this many times the needed lists' length


FUSED_POOL = 8  # articles scored exactly beyond the page after each list, to learn the page's least score


def fused_top(
    query: npt.NDArray[np.int64],
    query_p: npt.NDArray[np.int64],
    query_t: npt.NDArray[np.int64],
    count: int,
    weights: FloatArray,
    widen: FloatArray,
    a_indptr: npt.NDArray[np.int64],
    a_doc_ids: npt.NDArray[np.int32],
    a_tfs: IntArray,
    a_impacts: npt.NDArray[np.uint8],
    a_max_weight: FloatArray,
    a_idf: FloatArray,
    a_norm: FloatArray,
    p_indptr: npt.NDArray[np.int64],
    p_doc_ids: npt.NDArray[np.int32],
    p_tfs: IntArray,
    p_max_weight: FloatArray,
    p_idf: FloatArray,
    p_norm: FloatArray,
    t_indptr: npt.NDArray[np.int64],
    t_doc_ids: npt.NDArray[np.int32],
    t_tfs: IntArray,
    t_max_weight: FloatArray,
    t_idf: FloatArray,
    t_norm: FloatArray,
    first_passage: npt.NDArray[np.int64],
    k1_plus_1: float,
    step: float,
    recency: npt.NDArray[np.int64],
    shortest: npt.NDArray[np.uint8],
    norm_of_level: FloatArray,
    acc: npt.NDArray[np.float32],
    seen: npt.NDArray[np.int32],
    flag: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.int64], FloatArray, npt.NDArray[np.int64], bool]:
    """The best `count` articles by the fused score whole + w1 × best passage + w2 × title (weights =
    [w1, w2]), exactly as the library fuses them: positions, fused scores and best passages, ordered by
    score desc, then recency asc. The last value is False when the indexes broke a bound (a passage
    holding a term more often than its article): the answer is then not to be trusted.

    `query` holds the question's term ids in the article index (query order, repeats kept; every idf of
    every index > 0), `query_p` and `query_t` the same slots' ids in the passage and title indexes (-1
    where absent). A passage or title holds a term at most as often as its article, so the title lists
    (short) are read first, in full, and then each article posting bounds the rest of its article's
    fused score: its impact level the whole-article weight, its tf over the length norm of the article's
    shortest passage every passage's weight. Article lists go strongest bound first (MaxScore); after
    each one the best articles by bound so far are scored exactly, and once the page's least exact score
    beats what the remaining terms could give an article not met yet, their lists are only probed for
    the articles still in reach. The survivors are then scored in full in order of their bound until it
    falls below the page's least score. `widen` scales the article and passage indexes' bounds (impact
    levels, max_weight): 1.0 for indexes built with the statistics they are scored with, a segment's
    restated `high` otherwise. `shortest` holds each article's level of shortest-passage norm,
    `norm_of_level` each level's norm (at most the norms it stands for; the last level, no passage, is
    inf). `acc` (float32 bounds, rounded up, zeros), `seen` and `flag` (zeros), one per article, are
    scratch, handed back as they came: what is reached at random (bound, flag, level) is 6 bytes an
    article, to stay in cache.
    """
    distinct, repeats, slot, m = _distinct_terms(query)
    distinct_p = np.full(m, -1, dtype=np.int64)
    distinct_t = np.full(m, -1, dtype=np.int64)
    for q in range(len(query)):
        distinct_p[slot[q]] = query_p[q]
        distinct_t[slot[q]] = query_t[q]
    passage_weight = weights[0]
    title_weight = weights[1]
    # The most a term adds to the whole-article and passage parts of any article's fused score. Title
    # parts need no bound: title lists are short, so they are read first, in full.
    bound = np.zeros(m, dtype=np.float64)
    per_level = np.zeros(m, dtype=np.float64)  # one impact level of the whole-article weight
    passage_scale = np.zeros(m, dtype=np.float64)
    passage_cap = np.zeros(m, dtype=np.float64)
    title_scale = np.zeros(m, dtype=np.float64)
    remaining = 0.0  # the most an article not met yet can score (once the titles are read)
    for j in range(m):
        tid = distinct[j]
        bound[j] = a_max_weight[tid] * a_idf[tid] * repeats[j] * widen[0]
        per_level[j] = step * a_idf[tid] * repeats[j] * widen[0]
        if distinct_p[j] >= 0:
            passage_scale[j] = passage_weight * p_idf[distinct_p[j]] * repeats[j]
            passage_cap[j] = p_max_weight[distinct_p[j]] * passage_scale[j] * widen[1]
            bound[j] += passage_cap[j]
        if distinct_t[j] >= 0:
            title_scale[j] = title_weight * t_idf[distinct_t[j]] * repeats[j]
        remaining += bound[j]
    order = _by_bound(bound, m, True)  # strongest first
    heap_score = np.empty(count, dtype=np.float64)
    heap_rank = np.empty(count, dtype=np.int64)
    heap_doc = np.empty(count, dtype=np.int64)
    pool_size = count + FUSED_POOL
    pool_doc = np.full(pool_size, -1, dtype=np.int64)
    pool_value = np.full(pool_size, -math.inf, dtype=np.float64)
    pool_least = 0  # the pool's slot of least bound
    scored_docs = np.empty((m + 1) * pool_size, dtype=np.int64)  # scored while lists are read (flag 1)
    # found[0]: articles in the heap, found[1]: articles in scored_docs, found[2]: 0 once a bound broke.
    found = np.asarray([0, 0, 1], dtype=np.int64)
    touched = 0
    for j in range(m):
        t_tid = distinct_t[j]
        if t_tid >= 0:
            for p in range(t_indptr[t_tid], t_indptr[t_tid + 1]):
                d = t_doc_ids[p]
                value = acc[d]
                if value == 0.0:
                    seen[touched] = d
                    touched += 1
                tf = np.float64(t_tfs[p])
                value += tf * k1_plus_1 / (tf + t_norm[d]) * title_scale[j]
                acc[d] = _up32(value)
                if value > pool_value[pool_least]:
                    pool_least = _pool_enter(pool_doc, pool_value, pool_least, d, value)
    first_probe = m
    for i in range(m + 1):
        # The best articles by bound so far are the likeliest page: their exact scores raise its floor.
        for s in range(pool_size):
            d = pool_doc[s]
            if d >= 0 and flag[d] == 0:
                flag[d] = 1
                scored_docs[found[1]] = d
                found[1] += 1
                score, _, fits = _fused_score(
                    d, query, query_p, query_t, slot, distinct, distinct_p, distinct_t, m, passage_weight,
                    title_weight, a_indptr, a_doc_ids, a_tfs, a_idf, a_norm, p_indptr, p_doc_ids, p_tfs,
                    p_idf, p_norm, t_indptr, t_doc_ids, t_tfs, t_idf, t_norm, first_passage, k1_plus_1,
                    acc[d] + remaining,
                )  # fmt: skip
                if not fits:
                    found[2] = 0
                found[0] = _offer_exact(
                    heap_score, heap_rank, heap_doc, found[0], count, score, recency[d], d
                )
        if i == m:
            break
        theta = heap_score[0] if found[0] == count else -math.inf
        if remaining * (1 + SLACK) < theta:
            first_probe = i  # no unseen article can reach the page: the rest is only looked up
            break
        j = order[i]
        remaining -= bound[j]
        # An article first met here cannot reach the page if this term and all later ones give it less.
        need = theta / (1 + 2 * SLACK) - remaining
        tid = distinct[j]
        level, scale, cap = per_level[j], passage_scale[j], passage_cap[j]
        for p in range(a_indptr[tid], a_indptr[tid + 1]):
            d = a_doc_ids[p]
            value = acc[d]
            if value < 0.0:
                continue  # ruled out where first met
            norm = norm_of_level[shortest[d]]
            gain = _posting_bound(a_tfs[p], a_impacts[p], norm, k1_plus_1, level, scale, cap)
            if value == 0.0:
                seen[touched] = d
                touched += 1
                if gain < need:
                    acc[d] = -1.0
                    continue
            value += gain
            acc[d] = _up32(value)
            if value > pool_value[pool_least]:
                pool_least = _pool_enter(pool_doc, pool_value, pool_least, d, value)
    scored = found[0]
    n_scored = found[1]
    trusted = found[2] == 1
    # Candidates: the articles seen, not yet scored, that can still reach the page (at the front of seen).
    candidates = _keep_reaching(acc, seen, flag, touched, heap_score, scored, count, remaining)
    is_sorted = False
    for i in range(first_probe, m):
        j = order[i]
        tid = distinct[j]
        start, end = a_indptr[tid], a_indptr[tid + 1]
        level, scale, cap = per_level[j], passage_scale[j], passage_cap[j]
        if candidates * 8 < end - start:
            if not is_sorted:
                seen[:candidates] = np.sort(seen[:candidates])
                is_sorted = True
            p = start
            for c in range(candidates):
                d = seen[c]
                p = _gallop(a_doc_ids, p, end, d)
                if p >= end:
                    break
                if a_doc_ids[p] == d:
                    norm = norm_of_level[shortest[d]]
                    gain = _posting_bound(a_tfs[p], a_impacts[p], norm, k1_plus_1, level, scale, cap)
                    acc[d] = _up32(acc[d] + gain)
        else:
            # Many in reach: read the list whole. A bound above zero marks an article in reach:
            # _keep_reaching cleared the others' (out of reach, or scored already).
            for p in range(start, end):
                d = a_doc_ids[p]
                value = acc[d]
                if value > 0.0:
                    norm = norm_of_level[shortest[d]]
                    gain = _posting_bound(a_tfs[p], a_impacts[p], norm, k1_plus_1, level, scale, cap)
                    acc[d] = _up32(value + gain)
        remaining -= bound[j]
        candidates = _keep_reaching(acc, seen, flag, candidates, heap_score, scored, count, remaining)
    # The survivors, best bound first, until the bound falls below the page's least score.
    survivors = seen[:candidates].copy()
    reach = np.empty(candidates, dtype=np.float64)
    for c in range(candidates):
        reach[c] = acc[survivors[c]]
        acc[survivors[c]] = 0.0
    by_reach = np.argsort(-reach)
    for c in range(candidates):
        d = survivors[by_reach[c]]
        theta = heap_score[0] if scored == count else -math.inf
        if reach[by_reach[c]] * (1 + SLACK) < theta:
            break
        score, best, fits = _fused_score(
            d, query, query_p, query_t, slot, distinct, distinct_p, distinct_t, m, passage_weight,
            title_weight, a_indptr, a_doc_ids, a_tfs, a_idf, a_norm, p_indptr, p_doc_ids, p_tfs, p_idf,
            p_norm, t_indptr, t_doc_ids, t_tfs, t_idf, t_norm, first_passage, k1_plus_1, reach[by_reach[c]],
        )  # fmt: skip
        trusted = trusted and fits
        scored = _offer_exact(heap_score, heap_rank, heap_doc, scored, count, score, recency[d], d)
    for s in range(n_scored):
        acc[scored_docs[s]] = 0.0
        flag[scored_docs[s]] = 0
    docs, scores = _sorted_best(heap_score, heap_rank, heap_doc, scored)
    best_passages = np.empty(scored, dtype=np.int64)
    for c in range(scored):
        _, best, _ = _fused_score(
            docs[c], query, query_p, query_t, slot, distinct, distinct_p, distinct_t, m, passage_weight,
            title_weight, a_indptr, a_doc_ids, a_tfs, a_idf, a_norm, p_indptr, p_doc_ids, p_tfs, p_idf,
            p_norm, t_indptr, t_doc_ids, t_tfs, t_idf, t_norm, first_passage, k1_plus_1, math.inf,
        )  # fmt: skip
        best_passages[c] = best
    return docs, scores, best_passages, trusted


def _up32(value: float) -> np.float32:
    """A float32 not below `value` (>= 0) and a few float32 steps above it at most: a bound must not
    round down. It is raised by 2⁻²² first, at least two float32 steps, so rounding to the nearest cannot
    take it below `value`. (Stepping up with np.nextafter when the rounding went down, half the time,
    was a call per posting: a third of the fused pass on the slowest questions.)"""
    return np.float32(value * _UP32_RAISE)


_UP32_RAISE = 1.0 + 2.0**-22


def _posting_bound(
    tf: int,
    impact: int,
    shortest_norm: float,
    k1_plus_1: float,
    per_level: float,
    passage_scale: float,
    passage_cap: float,
) -> float:
    """The most an article posting's term adds to the whole-article and best-passage parts of the
    article's fused score: its impact level's ceiling, and its tf over the shortest passage's norm."""
    weight = np.float64(tf)
    passage = weight * k1_plus_1 / (weight + shortest_norm) * passage_scale
    return (impact + 1) * per_level + min(passage, passage_cap)


def _pool_enter(
    pool_doc: npt.NDArray[np.int64], pool_value: FloatArray, least: int, doc: int, value: float
) -> int:
    """Raise a doc's bound in the pool of the best bounds, or let it take the least one's place;
    returns the pool's new slot of least bound."""
    size = len(pool_doc)
    place = least
    for s in range(size):
        if pool_doc[s] == doc:
            place = s
            break
    pool_doc[place] = doc
    pool_value[place] = value
    least = 0
    for s in range(1, size):
        if pool_value[s] < pool_value[least]:
            least = s
    return least


def _keep_reaching(
    acc: npt.NDArray[np.float32],
    seen: npt.NDArray[np.int32],
    flag: npt.NDArray[np.uint8],
    listed: int,
    heap_score: FloatArray,
    scored: int,
    count: int,
    reach: float,
) -> int:
    """Keep (at the front of seen) the listed articles not scored yet whose bound, plus `reach`, can
    still reach the page's least score; clear the bounds of the others (of those scored already too:
    their bounds no longer count). Returns how many are kept.

    Without a branch per article: which articles stay is no pattern a branch predictor can learn, and
    with one this loop cost more than reading the lists it follows."""
    theta = heap_score[0] if scored == count else -math.inf
    kept = 0
    for c in range(listed):
        d = seen[c]
        value = acc[d]
        keep = (flag[d] == 0) & (value >= 0.0) & ((value + reach) * (1 + SLACK) >= theta)
        acc[d] = value * keep
        seen[kept] = d
        kept += keep
    return kept


def _fused_score(
    d: int,
    query: npt.NDArray[np.int64],
    query_p: npt.NDArray[np.int64],
    query_t: npt.NDArray[np.int64],
    slot: npt.NDArray[np.int64],
    distinct: npt.NDArray[np.int64],
    distinct_p: npt.NDArray[np.int64],
    distinct_t: npt.NDArray[np.int64],
    m: int,
    passage_weight: float,
    title_weight: float,
    a_indptr: npt.NDArray[np.int64],
    a_doc_ids: npt.NDArray[np.int32],
    a_tfs: IntArray,
    a_idf: FloatArray,
    a_norm: FloatArray,
    p_indptr: npt.NDArray[np.int64],
    p_doc_ids: npt.NDArray[np.int32],
    p_tfs: IntArray,
    p_idf: FloatArray,
    p_norm: FloatArray,
    t_indptr: npt.NDArray[np.int64],
    t_doc_ids: npt.NDArray[np.int32],
    t_tfs: IntArray,
    t_idf: FloatArray,
    t_norm: FloatArray,
    first_passage: npt.NDArray[np.int64],
    k1_plus_1: float,
    ceiling: float,
) -> tuple[float, int, bool]:
    """One article's fused score with rank-bm25's operations in its order for each of the three scores,
    its best passage (the earlier on a tie) and whether the score stayed within `ceiling`, its bound."""
    n = len(query)
    contribution = np.zeros(m, dtype=np.float64)
    for j in range(m):
        tid = distinct[j]
        end = a_indptr[tid + 1]
        p = _gallop(a_doc_ids, a_indptr[tid], end, d)
        if p < end and a_doc_ids[p] == d:
            tf = np.float64(a_tfs[p])
            contribution[j] = tf * k1_plus_1 / (tf + a_norm[d]) * a_idf[tid]
    whole = 0.0
    for q in range(n):
        whole += contribution[slot[q]]
    for j in range(m):
        contribution[j] = 0.0
        tid = distinct_t[j]
        if tid >= 0:
            end = t_indptr[tid + 1]
            p = _gallop(t_doc_ids, t_indptr[tid], end, d)
            if p < end and t_doc_ids[p] == d:
                tf = np.float64(t_tfs[p])
                contribution[j] = tf * k1_plus_1 / (tf + t_norm[d]) * t_idf[tid]
    title = 0.0
    for q in range(n):
        if query_t[q] >= 0:
            title += contribution[slot[q]]
    first = first_passage[d]
    size = first_passage[d + 1] - first
    columns = np.zeros((m, max(size, 1)), dtype=np.float64)
    for j in range(m):
        tid = distinct_p[j]
        if tid >= 0:
            end = p_indptr[tid + 1]
            p = _gallop(p_doc_ids, p_indptr[tid], end, first)
            while p < end and p_doc_ids[p] < first + size:
                passage = p_doc_ids[p]
                tf = np.float64(p_tfs[p])
                columns[j, passage - first] = tf * k1_plus_1 / (tf + p_norm[passage]) * p_idf[tid]
                p += 1
    best = first
    best_score = 0.0
    for c in range(size):
        score = 0.0
        for q in range(n):
            if query_p[q] >= 0:
                score += columns[slot[q], c]
        if c == 0 or score > best_score:
            best, best_score = first + c, score
    fused = whole + passage_weight * best_score
    fused += title_weight * title
    return fused, best, fused <= ceiling * (1 + SLACK)


TopK = Callable[..., tuple[npt.NDArray[np.int64], FloatArray]]


@dataclass(frozen=True, slots=True)
class Kernels:
    """The compiled functions, and how long making them ready took (importing numba included)."""

    top_k: TopK
    exact_scores: Callable[..., FloatArray]
    held_weights: Callable[..., FloatArray]
    count_holding: Callable[..., int]
    fused_top: Callable[..., tuple[npt.NDArray[np.int64], FloatArray, npt.NDArray[np.int64], bool]]
    seconds: float
    cached: bool  # whether numba could keep the machine code on disk for the next start


class _Preparation:
    """Compiles the kernels once per process in a background thread, so no question waits for numba:
    until they are ready, the index answers with numpy (identical rankings)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.done = threading.Event()
        self.kernels: Kernels | None = None

    def start(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="newsbot-kernels", daemon=True)
                self.thread.start()
                # An interpreter must not exit with LLVM mid-compile on another thread.
                atexit.register(self.wait)

    def run(self) -> None:
        # numba's import and compiler are Python code that holds the GIL between the interpreter's
        # forced switches; a thread answering questions meanwhile would wait up to a switch interval
        # (5 ms) each time it gives the GIL up. Shorter switches while preparing keep its answers quick.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, PREPARING_SWITCH_S))
        try:
            self.kernels = _compile()
        finally:
            sys.setswitchinterval(interval)
            self.done.set()

    def wait(self) -> None:
        """Block until a preparation that was started has finished (a no-op otherwise)."""
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            self.done.wait()


_preparation = _Preparation()
# A fork while numba is half imported would leave the child holding locks nobody will release: let a
# running preparation finish first (the child then inherits the kernels).
os.register_at_fork(before=_preparation.wait)


def prepare() -> None:
    """Start compiling (or loading from numba's cache) in the background, once per process."""
    if _preparation.thread is None:
        _preparation.start()


def ready() -> Kernels | None:
    """The kernels if they are ready now; None before prepare(), while they are being prepared, or
    when numba is missing."""
    if _preparation.done.is_set():
        return _preparation.kernels
    return None


def compiled() -> Kernels | None:
    """The kernels, waiting for their preparation; None when numba is missing or compiling failed."""
    prepare()
    _preparation.done.wait()
    return _preparation.kernels


def _compile() -> Kernels | None:
    started = time.perf_counter()
    try:
        import numba
    except ImportError:
        return None
    # On disk when numba finds a writable cache directory (beside this file, else the user's cache);
    # else in memory, compiled anew at each start.
    try:
        from numba.extending import register_jitable

        for helper in _HELPERS:  # callable from the compiled kernels, still plain Python here
            register_jitable(helper)
    except Exception:
        log.warning("numba could not register the kernels' helpers", exc_info=True)
        return None
    for cache in (True, False):
        try:
            jit = numba.njit(cache=cache, nogil=True)
            made = Kernels(
                top_k=jit(top_k),
                exact_scores=jit(exact_scores),
                held_weights=jit(held_weights),
                count_holding=jit(count_holding),
                fused_top=jit(fused_top),
                seconds=0.0,
                cached=cache,
            )
            _warm(made)
        except Exception:  # a broken numba or LLVM must not take search down: numpy ranks the same
            log.warning("compiling the search kernels (cache=%s) failed", cache, exc_info=True)
            continue
        return replace(made, seconds=time.perf_counter() - started)
    log.warning("searching with numpy instead of the compiled kernels")
    return None


_HELPERS = (
    _least_level,
    _distinct_terms,
    _by_bound,
    _offer,
    _sift_down,
    _narrow,
    _gallop,
    _exact_top,
    _worse,
    _offer_exact,
    _sift_exact,
    _sorted_best,
    _pool_enter,
    _keep_reaching,
    _posting_bound,
    _up32,
    _fused_score,
)
# The tf types fused_top is compiled for, (articles, passages, titles): one byte, or two for an article
# repeating a word 256 times or more. Each costs about 10 s of compiling with an empty cache; other
# libraries rank with the reference.
FUSED_TFS = ((np.uint8, np.uint8, np.uint8), (np.uint16, np.uint8, np.uint8))


def _warm(made: Kernels) -> None:
    """Compile (or load from the cache) the signatures the index uses, on a two-document index whose
    arrays are read-only like the index's own."""
    indptr = np.asarray([0, 2, 3], dtype=np.int64)
    doc_ids = np.asarray([0, 1, 1], dtype=np.int32)
    impacts = np.zeros(3, dtype=np.uint8)
    weights = np.ones(2, dtype=np.float64)
    rank = np.zeros(2, dtype=np.int64)
    query = np.asarray([0, 1], dtype=np.int64)
    arrays: list[npt.NDArray[Any]] = [indptr, doc_ids, impacts, weights, rank]
    for tf_type in (np.uint8, np.uint16):  # (uint32 only for a term repeated 65,536 times in one doc)
        tfs = np.ones(3, dtype=tf_type)
        for array in (*arrays, tfs):
            array.flags.writeable = False
        index = (indptr, doc_ids, tfs, impacts, weights, weights, weights, 2.5, 0.01, 1.0, 1.0)
        scratch = (np.zeros(2, np.uint16), np.zeros(2, np.int32), np.full(2, -1, np.int32))
        made.top_k(query, 1, *index, rank, True, *scratch)
        made.exact_scores(query, query, indptr, doc_ids, tfs, weights, weights, 2.5)
    made.held_weights(query, np.ones(2), query, indptr, doc_ids)
    none = np.full(2, -1, dtype=np.int64)
    years = np.zeros(2, dtype=np.int32)
    needed = np.ones(2, np.bool_)
    found = np.zeros(2, dtype=np.int64)
    no_years = np.zeros(0, dtype=np.int64)
    made.count_holding(
        query, np.ones(2), needed, none, np.zeros(2, np.bool_), no_years, no_years, years, 2.0, 0.5, 10,
        indptr, doc_ids, found, np.zeros(2, np.uint8),
    )  # fmt: skip
    first = np.asarray([0, 1, 2], dtype=np.int64)
    first.flags.writeable = False
    for tf_types in FUSED_TFS:
        three: list[npt.NDArray[Any]] = []  # the article, passage and title indexes' arrays
        for tf_type in tf_types:
            tfs = np.ones(3, dtype=tf_type)
            tfs.flags.writeable = False
            three.extend((indptr, doc_ids, tfs, impacts, weights, weights, weights))
        a, p, t = three[0:7], three[7:14], three[14:21]
        shortest = np.zeros(2, np.uint8)
        shortest.flags.writeable = False
        norm_of_level = np.ones(256)
        norm_of_level.flags.writeable = False
        scratch = (np.zeros(2, np.float32), np.zeros(2, np.int32), np.zeros(2, np.uint8))
        made.fused_top(
            query,
            query.copy(),
            query.copy(),
            1,
            np.ones(2),
            np.ones(2),
            *a,
            *p[:3],
            *p[4:],
            *t[:3],
            *t[4:],
            first,
            2.5,
            0.01,
            rank,
            shortest,
            norm_of_level,
            *scratch,
        )
