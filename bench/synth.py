"""Seeded synthetic scale-ups of BBC News: token lists for the index benchmark, JSON Lines articles for
load and reload runs.

Every synthetic article copies one real article's "aboutness": its words are drawn half from that
article and half from the whole corpus (so terms co-occur and repeat as in news), its lengths from the
real length distributions, and a small share of fresh rare words makes the vocabulary grow with the
corpus as real archives do. The data is research material read from ../shared/data, never copied here.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.core.library import split_passages
from bot.core.models import Article
from bot.core.text import terms

BBC = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc_news" / "bbc_news.jsonl.gz"
TOPICAL = 0.5  # share of words drawn from the source article rather than from the whole corpus
FRESH = 0.02  # share of words replaced by a rare word the real corpus does not have
_FRESH_SHAPE = 1.1  # Zipf exponent of the fresh words: a long tail of names, as in real archives
_FRESH_CAP = 1 << 22
ARTICLES_PER_FILE = 1000  # ~2.5 MB per JSON Lines file, well under the loader's 5 MB cap

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RealCorpus:
    """BBC News as the library indexes it, in the shape the generators sample from."""

    articles: tuple[Article, ...]
    passages: list[list[str]]  # analysed terms of each passage: the title's, then the passage's
    vocabulary: list[str]
    pool: IntArray  # term ids of every passage body, article after article
    article_start: IntArray  # where each article's body terms start in pool (plus the end)
    titles: list[IntArray]  # term ids of each title
    body_lengths: IntArray  # terms per passage body
    passages_per_article: IntArray
    words: list[str]  # raw words (whitespace-split) of every body, for text generation
    word_start: IntArray  # where each article's raw words start in words (plus the end)
    paragraph_lengths: IntArray  # raw words per paragraph
    paragraphs_per_article: IntArray


def read_bbc(path: Path = BBC, limit: int | None = None) -> tuple[Article, ...]:
    """The BBC News articles (ids like business/001), undated."""
    articles: list[Article] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            articles.append(Article(id=row["id"], title=row["title"], body=row["body"], source="BBC News"))
            if limit is not None and len(articles) >= limit:
                break
    return tuple(articles)


def real_corpus(articles: tuple[Article, ...]) -> RealCorpus:
    """Analyse real articles once: passages as the library cuts them, plus the statistics to sample."""
    ids: dict[str, int] = {}
    passages: list[list[str]] = []
    pool: list[int] = []
    starts = [0]
    titles: list[IntArray] = []
    body_lengths: list[int] = []
    per_article: list[int] = []
    words: list[str] = []
    word_starts = [0]
    paragraph_lengths: list[int] = []
    paragraphs: list[int] = []
    for article in articles:
        title = terms(article.title)
        titles.append(np.asarray([ids.setdefault(t, len(ids)) for t in title], dtype=np.int64))
        cut = split_passages(article)
        for passage in cut:
            body = terms(passage.text)
            passages.append(title + body)
            pool.extend(ids.setdefault(t, len(ids)) for t in body)
            body_lengths.append(len(body))
        per_article.append(len(cut))
        starts.append(len(pool))
        parts = [p.split() for p in article.body.split("\n\n") if p.strip()]
        paragraph_lengths.extend(map(len, parts))
        paragraphs.append(len(parts))
        for part in parts:
            words.extend(part)
        word_starts.append(len(words))
    return RealCorpus(
        articles=articles,
        passages=passages,
        vocabulary=list(ids),
        pool=np.asarray(pool, dtype=np.int64),
        article_start=np.asarray(starts, dtype=np.int64),
        titles=titles,
        body_lengths=np.asarray(body_lengths, dtype=np.int64),
        passages_per_article=np.asarray(per_article, dtype=np.int64),
        words=words,
        word_start=np.asarray(word_starts, dtype=np.int64),
        paragraph_lengths=np.asarray(paragraph_lengths, dtype=np.int64),
        paragraphs_per_article=np.asarray(paragraphs, dtype=np.int64),
    )


def _mixture(rng: np.random.Generator, sources: IntArray, starts: IntArray, pool_size: int) -> IntArray:
    """Positions into a pool: per draw, from the source article's range or from anywhere."""
    lo, hi = starts[sources], starts[sources + 1]
    own = lo + (rng.random(len(sources)) * (hi - lo)).astype(np.int64)
    anywhere = rng.integers(0, pool_size, len(sources))
    return np.where(rng.random(len(sources)) < TOPICAL, own, anywhere)


def _fresh(rng: np.random.Generator, count: int) -> IntArray:
    return np.minimum(rng.zipf(_FRESH_SHAPE, count), _FRESH_CAP).astype(np.int64)


@dataclass(frozen=True, slots=True)
class SyntheticPassages:
    """Analysed passages of synthetic articles: each passage is its article's title terms, then its own."""

    passages: list[list[str]]
    owners: IntArray  # synthetic article of each passage (non-decreasing)
    title_lengths: IntArray  # title terms per synthetic article


def synthetic_passages(real: RealCorpus, count: int, seed: int) -> SyntheticPassages:
    """`count` passages of synthetic articles of several passages each (seeded)."""
    rng = np.random.default_rng(seed)
    n_real = len(real.titles)
    passages: list[list[str]] = []
    owner_parts: list[IntArray] = []
    title_lengths: list[int] = []
    fresh_ids: dict[int, int] = {}
    names = list(real.vocabulary)
    while len(passages) < count:
        batch = min(20_000, max(1, (count - len(passages)) // 4 + 1))
        sources = rng.integers(0, n_real, batch)
        per_article = rng.choice(real.passages_per_article, batch)
        owners = np.repeat(np.arange(batch), per_article)[: count - len(passages)]
        lengths = rng.choice(real.body_lengths, len(owners))
        positions = _mixture(rng, np.repeat(sources[owners], lengths), real.article_start, len(real.pool))
        tokens = real.pool[positions]
        fresh = np.flatnonzero(rng.random(len(tokens)) < FRESH)
        for at, rank in zip(fresh.tolist(), _fresh(rng, len(fresh)).tolist(), strict=True):
            term_id = fresh_ids.get(rank)
            if term_id is None:
                term_id = fresh_ids[rank] = len(names)
                names.append(f"zq{rank:x}")
            tokens[at] = term_id
        words = list(map(names.__getitem__, tokens.tolist()))
        used = int(owners[-1]) + 1 if len(owners) else 0
        titles = [_title_terms(rng, real, int(s)) for s in sources[:used].tolist()]
        base = len(title_lengths)
        title_lengths.extend(map(len, titles))
        owner_parts.append(owners + base)
        at = 0
        for owner, length in zip(owners.tolist(), lengths.tolist(), strict=True):
            passages.append(titles[owner] + words[at : at + length])
            at += length
    return SyntheticPassages(
        passages,
        np.concatenate(owner_parts) if owner_parts else np.zeros(0, dtype=np.int64),
        np.asarray(title_lengths, dtype=np.int64),
    )


def _title_terms(rng: np.random.Generator, real: RealCorpus, source: int) -> list[str]:
    """The source's title with about a third of its terms swapped for words of its body."""
    title = real.titles[source].copy()
    lo, hi = real.article_start[source], real.article_start[source + 1]
    swap = rng.random(len(title)) < 0.3
    if hi > lo and swap.any():
        title[swap] = real.pool[rng.integers(lo, hi, int(swap.sum()))]
    return [real.vocabulary[t] for t in title.tolist()]


def synthetic_articles(
    real: RealCorpus, count: int, seed: int, *, days: float | None = None
) -> Iterator[dict[str, str]]:
    """`count` JSON-ready articles (id, title, body, published, source) written from BBC words, dated at
    random over two years; with `days`, in publication order over that many days (a live feed's order)."""
    rng = np.random.default_rng(seed)
    n_real = len(real.articles)
    words = real.words
    epoch = datetime(2004, 1, 1, tzinfo=UTC)
    made = 0
    while made < count:
        batch = min(2_000, count - made)
        sources = rng.integers(0, n_real, batch)
        paragraphs = rng.choice(real.paragraphs_per_article, batch)
        owners = np.repeat(np.arange(batch), paragraphs)
        lengths = rng.choice(real.paragraph_lengths, len(owners))
        positions = _mixture(rng, np.repeat(sources[owners], lengths), real.word_start, len(words))
        drawn = [words[p] for p in positions.tolist()]
        fresh = np.flatnonzero(rng.random(len(drawn)) < FRESH)
        for at, rank in zip(fresh.tolist(), _fresh(rng, len(fresh)).tolist(), strict=True):
            drawn[at] = f"Zq{rank:x}"
        seconds = rng.integers(0, 2 * 365 * 86400, batch)
        if days is not None:
            seconds = ((made + np.arange(batch)) * (days * 86400 / count)).astype(np.int64)
        bodies: list[list[str]] = [[] for _ in range(batch)]
        at = 0
        for owner, length in zip(owners.tolist(), lengths.tolist(), strict=True):
            sentence = " ".join(drawn[at : at + length]).rstrip(".,;:") + "."
            bodies[owner].append(sentence[:1].upper() + sentence[1:])
            at += length
        for i, source in enumerate(sources.tolist()):
            title_words = real.articles[source].title.split()
            lo, hi = int(real.word_start[source]), int(real.word_start[source + 1])
            for j in range(len(title_words)):
                if rng.random() < 0.3 and hi > lo:
                    title_words[j] = words[int(rng.integers(lo, hi))].strip(".,;:\"'()")
            published = epoch + timedelta(seconds=int(seconds[i]))
            yield {
                "id": f"synth-{seed}-{made + i}",
                "title": " ".join(w for w in title_words if w) or "Untitled",
                "body": "\n\n".join(bodies[i]) or "Empty.",
                "published": published.isoformat(),
                "source": "Synthetic wire",
            }
        made += batch


def write_jsonl_corpus(real: RealCorpus, directory: Path, count: int, seed: int) -> int:
    """Write `count` synthetic articles as JSON Lines files under directory; returns bytes written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    rows = synthetic_articles(real, count, seed)
    for number in range(0, count, ARTICLES_PER_FILE):
        lines = [json.dumps(row, ensure_ascii=False) for row in itertools.islice(rows, ARTICLES_PER_FILE)]
        text = "\n".join(lines) + "\n"
        (directory / f"wire-{number // ARTICLES_PER_FILE:05d}.jsonl").write_text(text, "utf-8")
        written += len(text.encode("utf-8"))
    return written
