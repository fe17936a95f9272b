"""Best short window of a passage for a query, with the character spans of matched terms (data, no markup).

The "…" marks count toward max_chars, so a snippet is never longer than max_chars.
Must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Collection

from bot.core.models import Snippet, Token
from bot.core.text import analyze

ELLIPSIS = "…"
MIN_CHARS = 10  # room for two ellipses and a word
_WHITESPACE = re.compile(r"\s+")
# Sentence-final punctuation, any closing quotes/brackets, then the space before the next sentence.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?= )")


def make_snippet(text: str, match_terms: Collection[str], *, max_chars: int = 320) -> Snippet:
    """The window of `text` (whitespace collapsed) densest in `match_terms`, cut at sentence or word ends."""
    if max_chars < MIN_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_CHARS}")
    flat = _WHITESPACE.sub(" ", text).strip()
    hits = [token for token in analyze(flat) if token.term in match_terms]
    if len(flat) <= max_chars:
        return Snippet(flat, tuple((t.start, t.end) for t in hits))
    if hits:
        first, last = _densest(hits, max(max_chars - 2, 1))
        start, end = _window(flat, hits[first].start, hits[last].end, max_chars)
    else:
        start, end = _window(flat, 0, 0, max_chars)
    lead = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(flat) else ""
    shift = len(lead) - start
    spans = tuple((t.start + shift, t.end + shift) for t in hits if start <= t.start and t.end <= end)
    return Snippet(lead + flat[start:end] + tail, spans)


def _densest(hits: list[Token], budget: int) -> tuple[int, int]:
    """Indexes of the first and last hit of the best window: most distinct terms, most hits, earliest."""
    best = (-1, -1, 0)
    best_range = (0, 0)
    counts: Counter[str] = Counter()
    last = 0
    counts[hits[0].term] += 1
    for first in range(len(hits)):
        if last < first:
            last = first
            counts[hits[first].term] += 1
        while last + 1 < len(hits) and hits[last + 1].end - hits[first].start <= budget:
            last += 1
            counts[hits[last].term] += 1
        score = (len(counts), last - first + 1, -first)
        if score > best:
            best, best_range = score, (first, last)
        counts[hits[first].term] -= 1
        if not counts[hits[first].term]:
            del counts[hits[first].term]
    return best_range


def _window(flat: str, core_start: int, core_end: int, max_chars: int) -> tuple[int, int]:
    """Extend [core_start, core_end) to a window of flat that fits max_chars with its ellipses."""
    ends = [m.end() for m in _SENTENCE_END.finditer(flat)]
    starts = [0] + [e + 1 for e in ends]
    room = max_chars - 1  # a trailing "…" is likely; the leading one is accounted below
    # Prefer the start of the sentence holding the first match, if the core still fits after it.
    i = bisect.bisect_right(starts, core_start) - 1
    start = starts[i]
    if core_end - start > room - (1 if start else 0):
        slack = max(room - 1 - (core_end - core_start), 0)
        start = max(core_start - slack // 3, 0)
        if start and flat[start - 1] != " ":  # move on to the next word start
            space = flat.find(" ", start, core_start)
            start = core_start if space < 0 else space + 1
        if start and core_end - start > room - 1:
            start = core_start
    lead = 1 if start else 0
    if len(flat) - start + lead <= max_chars:
        return start, len(flat)
    limit = start + room - lead
    # The latest sentence end that keeps the window within limit, past the core and at least half full;
    # else the latest word end.
    j = bisect.bisect_right(ends, limit) - 1
    if j >= 0 and ends[j] >= core_end and (ends[j] - start) * 2 >= limit - start:
        return start, ends[j]
    space = flat.rfind(" ", max(core_end, start + 1), limit + 1)
    return start, space if space > start else limit
