"""Stories: articles about the same event, grouped at ingest time so that one event makes one alert.

`StoryIndex.add(article)` either starts a story or joins the article to an existing one, saying why: a
copy (MinHash over word shingles of the analysed text, candidates found by LSH banding) or a rewrite
(weighted-term similarity of title, lead and body, with names and numbers that must agree), within a
time window. Deterministic and pure: the same articles in the same order give the same stories, and the
whole index is plain data (`to_data`/`from_data`). Must not import telegram, aiosqlite, asyncio or
pydantic.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import repeat
from operator import mul

import numpy as np
import numpy.typing as npt

from bot.core.models import Article
from bot.core.text import ANALYZER_VERSION, terms

# Bump whenever a constant below or the algorithm changes: saved indexes of another version are refused
# (rebuild them by adding the stored articles again, in ingest order).
STORIES_VERSION = "1"

# --- copies: MinHash over shingles --------------------------------------------------------------------
SHINGLE_TERMS = 3  # three analysed words (stop words already gone): a copy keeps them, a rewrite breaks them
PERMUTATIONS = 64  # estimated Jaccard within ±0.06 (one standard deviation at 0.5) for 256 bytes a story
BAND_ROWS = 4  # 16 bands of 4: a pair at Jaccard 0.6 becomes a candidate with 0.88 probability, at 0.8 ~1
COPY_JACCARD = 0.6  # estimated shingle Jaccard from which an article is a copy (edited, re-titled) of another

# --- rewrites: the same event in other words ----------------------------------------------------------
PROFILE_TERMS = 32  # an article's most telling terms (tf·idf) stand for the whole text
LEAD_WORDS = 12  # analysed words of the body that make the lead with the title: about the first sentence,
# where news states the event; later sentences add background that other events of the story share
LEAD_PROFILE_TERMS = 16
KEY_TERMS = 12  # terms under which an article is posted for later candidates to find it
POSTING_SCAN = 400  # newest postings read per term: bounds the cost; for undated articles it is the window
CANDIDATES = 40  # best candidates (most shared terms) scored in full
LEAD_SHARE = 0.7  # rewrite score = LEAD_SHARE × lead cosine + (1 − LEAD_SHARE) × whole-text cosine
REWRITE_SCORE = 0.675  # least rewrite score to join a story
WHOLE_SCORE = 0.85  # or the whole texts alone this close (a report that opens differently)
# Names and numbers the two leads hold: a rewrite keeps them, another event of the same subject does not.
# Below this overlap (shared / the smaller set) the bar is raised by NAME_PENALTY.
NAME_OVERLAP = 0.5
NAME_PENALTY = 0.15

WINDOW = timedelta(days=3)  # dated articles join only stories with a member published this close

_MASK32 = np.uint64(0xFFFFFFFF)
# Fixed, seeded hash parameters: the same signatures in every process and on every machine.
_PARAMS = np.random.default_rng(16_2004).integers(0, 2**63, size=(2, PERMUTATIONS), dtype=np.uint64)
_MULTIPLIERS = _PARAMS[0] * np.uint64(2) + np.uint64(1)  # odd: multiply-shift hashing
_OFFSETS = _PARAMS[1]
_SHINGLE_MIX = np.asarray([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_BAND_MIX = np.asarray(
    [0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9], dtype=np.uint64
)
_BANDS = PERMUTATIONS // BAND_ROWS
_NAME = re.compile(r"(?<![.!?\"“]\s)(?<!^)(?<!\n)\b[A-Z][\w'’-]*")


_Stored = tuple[tuple[str, ...], "array[float]"]  # an article's terms and their weights


class Reason(StrEnum):
    """Why an article is where it is."""

    NEW = "new"  # no earlier story is about its event: it starts one
    COPY = "copy"  # near-duplicate text of a member (the same report, edited or re-titled)
    REWRITE = "rewrite"  # the same event in other words (another outlet, a rewritten report)


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where `add` put one article: its story, why, and the member it resembled most."""

    article_id: str
    story_id: str
    reason: Reason
    matched: str | None = None  # the member it was found similar to (None for a new story)
    similarity: float = 0.0  # estimated Jaccard (copy) or rewrite score; 0 for a new story
    headline_changed: bool = False  # it became the story's headline (earlier than the former one)

    @property
    def is_new(self) -> bool:
        """Whether the article started a story of its own."""
        return self.reason is Reason.NEW


@dataclass(frozen=True, slots=True)
class Member:
    """One article of a story."""

    article_id: str
    source: str | None
    published: datetime | None
    reason: Reason


@dataclass(frozen=True, slots=True)
class Story:
    """Articles about one event: its id is the id of the article that started it (stable, unique)."""

    id: str
    headline: str  # article id: the earliest published member (see StoryIndex)
    members: tuple[Member, ...]  # in ingest order; the first one started the story

    @property
    def article_ids(self) -> tuple[str, ...]:
        """The members' article ids, in ingest order."""
        return tuple(member.article_id for member in self.members)

    @property
    def sources(self) -> tuple[str, ...]:
        """Distinct named sources of the members, in ingest order."""
        return tuple(dict.fromkeys(m.source for m in self.members if m.source))


@functools.lru_cache(maxsize=1 << 18)
def _term_hash(term: str) -> int:
    """A 64-bit hash of a term, the same in every process (str.__hash__ is salted per process)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little")


def signature(words: Sequence[str]) -> npt.NDArray[np.uint32]:
    """The MinHash signature of the shingles of analysed words (their words alone when fewer)."""
    hashes = np.fromiter(map(_term_hash, words), dtype=np.uint64, count=len(words))
    if len(hashes) >= SHINGLE_TERMS:
        width = len(hashes) - SHINGLE_TERMS + 1
        shingles = hashes[:width] * _SHINGLE_MIX[0]
        for k in range(1, SHINGLE_TERMS):
            shingles = shingles ^ (hashes[k : k + width] * _SHINGLE_MIX[k])
    else:
        shingles = hashes
    if not len(shingles):
        return np.full(PERMUTATIONS, 0xFFFFFFFF, dtype=np.uint32)
    shingles = np.unique(shingles)
    # Multiply-shift: the high 32 bits of a·x + b (mod 2^64) for 64 odd a's; the minimum per function.
    mixed = (shingles[:, None] * _MULTIPLIERS[None, :] + _OFFSETS[None, :]) >> np.uint64(32)
    minima: npt.NDArray[np.uint32] = (mixed & _MASK32).min(axis=0).astype(np.uint32)
    return minima


def band_keys(sig: npt.NDArray[np.uint32]) -> list[int]:
    """One bucket key per LSH band: its rows mixed with the band number, as plain ints."""
    rows = sig.astype(np.uint64).reshape(_BANDS, BAND_ROWS)
    keys = np.arange(_BANDS, dtype=np.uint64) * _BAND_MIX[0]
    for k in range(BAND_ROWS):
        keys = (keys ^ rows[:, k]) * _BAND_MIX[k]
    return [int(key) for key in keys.tolist()]


@dataclass(frozen=True, slots=True)
class _Analysis:
    """What add() needs of one article, computed once."""

    words: list[str]  # title then body, analysed
    profile: dict[str, float]  # L2-normalised tf·idf of the PROFILE_TERMS best terms
    lead: dict[str, float]  # the same for the title and the lead
    names: frozenset[str]  # analysed names and numbers of the title and the lead


class StoryIndex:
    """Incremental story grouping: `add` each new article once, in ingest order.

    The headline of a story is its earliest published member: the original report that the others copy
    or rewrite, and stable, since later rewrites rarely predate it (ties: the longer text, then ingest
    order; undated members come after dated ones, in ingest order). Stories never merge and never lose
    members, so a story id, once handed out, stays valid.
    """

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._sources: list[str | None] = []
        self._published: list[float | None] = []  # POSIX seconds
        self._chars: list[int] = []
        self._story: list[int] = []  # story number of each article
        self._reasons: list[Reason] = []
        self._position: dict[str, int] = {}
        self._story_members: list[list[int]] = []
        self._story_headline: list[int] = []
        self._signatures = np.zeros((0, PERMUTATIONS), dtype=np.uint32)
        self._dates = np.zeros(0, dtype=np.float64)  # published as POSIX seconds, NaN when undated
        self._buckets: dict[int, int | list[int]] = {}
        self._profiles: list[_Stored] = []
        self._leads: list[_Stored] = []
        self._names: list[frozenset[str]] = []
        self._postings: dict[str, list[int]] = {}
        self._df: dict[str, int] = {}

    # --- reading ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._position

    @property
    def story_count(self) -> int:
        """How many stories the index holds."""
        return len(self._story_members)

    def story_of(self, article_id: str) -> str | None:
        """The id of the story an added article belongs to."""
        position = self._position.get(article_id)
        return None if position is None else self._ids[self._story_members[self._story[position]][0]]

    def story(self, story_id: str) -> Story | None:
        """A story by id (the id of the article that started it)."""
        position = self._position.get(story_id)
        if position is None:
            return None
        number = self._story[position]
        if self._story_members[number][0] != position:
            return None  # an article id, but not of a founding article
        return self._story_of_number(number)

    def stories(self) -> Iterator[Story]:
        """Every story, in the order they were started."""
        for number in range(len(self._story_members)):
            yield self._story_of_number(number)

    def _story_of_number(self, number: int) -> Story:
        members = tuple(
            Member(self._ids[p], self._sources[p], _datetime(self._published[p]), self._reasons[p])
            for p in self._story_members[number]
        )
        return Story(
            self._ids[self._story_members[number][0]], self._ids[self._story_headline[number]], members
        )

    # --- plain data ------------------------------------------------------------------------------

    def to_data(self) -> dict[str, object]:
        """The whole index as JSON-ready plain data (lists, dicts, str, int, float, None).

        `StoryIndex.from_data(index.to_data())` behaves exactly like `index`: the same stories now and
        the same assignments for every article added later. Adding the same articles in the same order
        to a new index gives the same data too, so a store may keep either this or only the articles.
        """
        articles = [
            {
                "id": self._ids[p],
                "source": self._sources[p],
                "published": self._published[p],
                "chars": self._chars[p],
                "story": self._story[p],
                "reason": self._reasons[p].value,
                "signature": self._signatures[p].tolist(),
                "profile": [list(self._profiles[p][0]), self._profiles[p][1].tolist()],
                "lead": [list(self._leads[p][0]), self._leads[p][1].tolist()],
                "names": sorted(self._names[p]),
            }
            for p in range(len(self._ids))
        ]
        return {
            "version": STORIES_VERSION,
            "analyzer": ANALYZER_VERSION,
            "articles": articles,
            "df": dict(self._df),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> StoryIndex:
        """An index from `to_data` output; ValueError if it was made by another version of the rules."""
        if data.get("version") != STORIES_VERSION or data.get("analyzer") != ANALYZER_VERSION:
            raise ValueError("story index data of another version: rebuild it by adding the articles again")
        index = cls()
        rows = data["articles"]
        df = data["df"]
        if not isinstance(rows, list) or not isinstance(df, dict):
            raise ValueError("story index data is malformed")
        for row in rows:
            number = int(row["story"])
            if number == len(index._story_members):
                index._story_members.append([])
                index._story_headline.append(len(index._ids))
            profile = (tuple(row["profile"][0]), array("f", row["profile"][1]))
            lead = (tuple(row["lead"][0]), array("f", row["lead"][1]))
            analysis = _Analysis(
                [], dict(zip(*profile, strict=True)), dict(zip(*lead, strict=True)), frozenset(row["names"])
            )
            sig = np.asarray(row["signature"], dtype=np.uint32)
            article = Article(id=str(row["id"]), title="", body="", source=row["source"])
            position = len(index._ids)
            index._record(
                article, row["published"], number, Reason(row["reason"]), sig, band_keys(sig), analysis
            )
            index._chars[position] = int(row["chars"])
            headline = index._story_headline[number]
            if index._headline_key(position) < index._headline_key(headline):
                index._story_headline[number] = position
        index._df = {str(term): int(count) for term, count in df.items()}
        return index

    @classmethod
    def rebuilt(cls, articles: Iterable[Article]) -> StoryIndex:
        """A new index with every article added in the given (ingest) order."""
        index = cls()
        index.add_all(articles)
        return index

    # --- adding ----------------------------------------------------------------------------------

    def add(self, article: Article) -> StoryAssignment:
        """Put one new article into a story (an existing one, or its own), and say which and why."""
        if article.id in self._position:
            raise ValueError(f"article {article.id!r} was already added")
        analysis = self._analyse(article)
        sig = signature(analysis.words)
        keys = band_keys(sig)
        published = article.published.timestamp() if article.published is not None else None
        position = len(self._ids)
        matched, reason, similarity = self._match(analysis, sig, keys, published)
        if matched is None:
            number = len(self._story_members)
            self._story_members.append([])
            self._story_headline.append(position)
        else:
            number = self._story[matched]
        self._record(article, published, number, reason, sig, keys, analysis)
        headline_changed = False
        if matched is not None:
            current = self._story_headline[number]
            if self._headline_key(position) < self._headline_key(current):
                self._story_headline[number] = position
                headline_changed = True
        return StoryAssignment(
            article_id=article.id,
            story_id=self._ids[self._story_members[number][0]],
            reason=reason,
            matched=None if matched is None else self._ids[matched],
            similarity=round(similarity, 6),
            headline_changed=headline_changed,
        )

    def add_all(self, articles: Iterable[Article]) -> list[StoryAssignment]:
        """`add` each article in turn."""
        return [self.add(article) for article in articles]

    def _headline_key(self, position: int) -> tuple[int, float, int, int]:
        published = self._published[position]
        if published is None:
            return (1, 0.0, 0, position)
        return (0, published, -self._chars[position], position)

    def _analyse(self, article: Article) -> _Analysis:
        title = terms(article.title)
        body = terms(article.body)
        # The document frequencies count this article too, so its own new words have a finite idf.
        for term in set(title).union(body):
            self._df[term] = self._df.get(term, 0) + 1
        n = len(self._ids) + 1
        # Title words count twice: the title is the story's own summary.
        profile = _weights(Counter(title + title + body), self._df, n, PROFILE_TERMS)
        lead = _weights(Counter(title + title + body[:LEAD_WORDS]), self._df, n, LEAD_PROFILE_TERMS)
        return _Analysis(title + body, profile, lead, _names(article, body[:LEAD_WORDS] + title))

    def _match(
        self, analysis: _Analysis, sig: npt.NDArray[np.uint32], keys: list[int], published: float | None
    ) -> tuple[int | None, Reason, float]:
        """The member to join (with the reason and its similarity), or None for a new story."""
        near: set[int] = set()
        for key in keys:
            bucket = self._buckets.get(key)
            if bucket is not None:
                near.update(bucket if isinstance(bucket, list) else (bucket,))
        near = {p for p in near if self._in_window(p, published)}
        if near:
            ordered = sorted(near)
            agreement = (self._signatures[ordered] == sig[None, :]).mean(axis=1)
            closest = int(np.argmax(agreement))
            if agreement[closest] >= COPY_JACCARD:
                return ordered[closest], Reason.COPY, float(agreement[closest])
        shared: Counter[int] = Counter()
        for term in analysis.profile:
            posted = self._postings.get(term)
            if posted is not None:
                shared.update(posted[-POSTING_SCAN:])  # counted in C: the hot loop of an add
        for p in near:
            shared[p] += KEY_TERMS  # a shingle match is worth scoring whatever the shared terms
        ranked = self._best_candidates(shared, published)
        best: tuple[float, int] | None = None
        for p in ranked:
            lead = _cosine(analysis.lead, self._leads[p])
            whole = _cosine(analysis.profile, self._profiles[p])
            score = LEAD_SHARE * lead + (1 - LEAD_SHARE) * whole
            if (score >= self._bar(analysis, p) or whole >= WHOLE_SCORE) and (
                best is None or score > best[0]
            ):
                best = (score, p)
        if best is not None:
            return best[1], Reason.REWRITE, best[0]
        return None, Reason.NEW, 0.0

    def _best_candidates(self, shared: Counter[int], published: float | None) -> list[int]:
        """The CANDIDATES articles in the window sharing the most terms (ties: the newer article)."""
        if not shared:
            return []
        positions = np.fromiter(shared.keys(), dtype=np.int64, count=len(shared))
        counts = np.fromiter(shared.values(), dtype=np.int64, count=len(shared))
        if published is not None:
            other = self._dates[positions]
            keep = np.isnan(other) | (np.abs(other - published) <= WINDOW.total_seconds())
            positions, counts = positions[keep], counts[keep]
        order = np.lexsort((-positions, -counts))[:CANDIDATES]
        return [int(p) for p in positions[order].tolist()]

    def _bar(self, analysis: _Analysis, position: int) -> float:
        agree = name_overlap(analysis.names, self._names[position]) >= NAME_OVERLAP
        return REWRITE_SCORE + (0.0 if agree else NAME_PENALTY)

    def _in_window(self, position: int, published: float | None) -> bool:
        other = self._published[position]
        return published is None or other is None or abs(other - published) <= WINDOW.total_seconds()

    def _record(
        self,
        article: Article,
        published: float | None,
        number: int,
        reason: Reason,
        sig: npt.NDArray[np.uint32],
        keys: list[int],
        analysis: _Analysis,
    ) -> None:
        position = len(self._ids)
        self._ids.append(article.id)
        self._sources.append(article.source)
        self._published.append(published)
        self._chars.append(len(article.body))
        self._story.append(number)
        self._reasons.append(reason)
        self._position[article.id] = position
        self._story_members[number].append(position)
        if len(self._signatures) == position:  # grow by doubling: amortised O(1) appends
            grown = np.zeros((max(16, 2 * position), PERMUTATIONS), dtype=np.uint32)
            grown[:position] = self._signatures[:position]
            self._signatures = grown
            dates = np.full(len(grown), np.nan, dtype=np.float64)
            dates[:position] = self._dates[:position]
            self._dates = dates
        self._signatures[position] = sig
        self._dates[position] = np.nan if published is None else published
        for key in keys:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._buckets[key] = position  # most buckets hold one article: no list for them
            elif isinstance(bucket, list):
                bucket.append(position)
            else:
                self._buckets[key] = [bucket, position]
        self._profiles.append(_frozen(analysis.profile))
        self._leads.append(_frozen(analysis.lead))
        self._names.append(analysis.names)
        key_terms = sorted(analysis.profile, key=lambda t: (-analysis.profile[t], t))[:KEY_TERMS]
        for term in key_terms:
            self._postings.setdefault(term, []).append(position)


def _weights(counts: Counter[str], df: Mapping[str, int], n: int, keep: int) -> dict[str, float]:
    """The `keep` heaviest terms by (1 + log tf) · idf, L2-normalised (ties: alphabetical)."""
    scored = {term: (1.0 + math.log(tf)) * math.log(1.0 + n / df.get(term, 1)) for term, tf in counts.items()}
    best = sorted(scored, key=lambda t: (-scored[t], t))[:keep]
    norm = math.sqrt(sum(scored[t] ** 2 for t in best)) or 1.0
    return {term: scored[term] / norm for term in best}


def _frozen(weights: Mapping[str, float]) -> _Stored:
    # Shared term strings and 4-byte weights: a stored article costs a few hundred bytes, not kilobytes.
    return tuple(map(sys.intern, weights)), array("f", weights.values())


def _cosine(query: Mapping[str, float], stored: _Stored) -> float:
    # map/sum stay in C: this runs for every candidate of every add.
    stored_terms, stored_weights = stored
    return float(sum(map(mul, map(query.get, stored_terms, repeat(0.0)), stored_weights)))


def _names(article: Article, lead_terms: Sequence[str]) -> frozenset[str]:
    """Analysed names (capitalised words inside a sentence) and numbers of the lead."""
    lead_text = article.body[: 2 * LEAD_WORDS * 8]
    found = set(terms(" ".join(match.group() for match in _NAME.finditer(lead_text))))
    found.update(t for t in lead_terms if t[0].isdigit())
    return frozenset(map(sys.intern, found))


def name_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared names and numbers over the smaller set (1 when either has none: nothing disagrees)."""
    if not a or not b:
        return 1.0
    return len(a & b) / min(len(a), len(b))


def _datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)
