"""A seeded synthetic news corpus and question stream for the end-to-end benchmark (bench/e2e.py).

Words are drawn with their BBC News frequencies (research data read from ../shared/data, never copied
into the repo), so postings lengths and query costs look like a real archive's. Same seed, same corpus.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.core.library import split_passages
from bot.core.models import Article

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc_news" / "bbc_news.jsonl.gz"
ARTICLES_PER_FILE = 2_000  # well under the loader's 5 MB per-file cap
ALERT_TOPIC = "e2e-alerts"
# A word no BBC text contains, so only the article written for the fan-out carries the alert topic.
ALERT_ALIAS = "Zorblaxian"
SOURCE = "Synthetic wire (BBC News vocabulary)"

_PUNCTUATION = "\"'()[]{}:;,.!?“”‘’…-–—"
_QUESTION_FRAMES = ("", "", "what about ", "latest on ", "news on ", "why ", "any word on ")
_TOPICS_YAML = f"""# Topics for the end-to-end benchmark corpus (generated; not the bundled corpus's topics).
topics:
  - slug: business
    name: Business
    description: Companies, markets and the economy.
    aliases: [economy, shares, profits, interest rates]
  - slug: sport
    name: Sport
    description: Matches, players and championships.
    aliases: [football, rugby, tennis, cricket]
  - slug: politics
    name: Politics
    description: Parties, elections and government.
    aliases: [election, Labour, Conservatives, Parliament]
  - slug: tech
    name: Technology
    description: Software, the internet and gadgets.
    aliases: [broadband, software, mobile phones, internet]
  - slug: entertainment
    name: Entertainment
    description: Film, music and television.
    aliases: [film, music, Oscar, television]
  - slug: {ALERT_TOPIC}
    name: Benchmark alerts
    description: Only the article written for the alert fan-out.
    aliases: [{ALERT_ALIAS}]
"""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Words with their relative frequencies, separately for titles and bodies."""

    title_words: npt.NDArray[np.str_]
    title_weights: npt.NDArray[np.float64]
    body_words: npt.NDArray[np.str_]
    body_weights: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """How big a corpus to write: article count and body length range in words."""

    articles: int
    min_words: int = 60
    max_words: int = 200
    seed: int = 5


def _words(text: str) -> Iterator[str]:
    for raw in text.split():
        word = raw.strip(_PUNCTUATION)
        if word:
            yield word


def _weighted(counts: Counter[str]) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.float64]]:
    pairs = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    words = np.array([word for word, _ in pairs])
    weights = np.array([count for _, count in pairs], dtype=np.float64)
    return words, weights / weights.sum()


def load_vocabulary(path: Path = DEFAULT_DATA) -> Vocabulary:
    """Word frequencies of the BBC News titles and bodies (sorted, so the result is deterministic)."""
    titles: Counter[str] = Counter()
    bodies: Counter[str] = Counter()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                titles.update(_words(str(row.get("title") or "")))
                bodies.update(_words(str(row.get("body") or "")))
    title_words, title_weights = _weighted(titles)
    body_words, body_weights = _weighted(bodies)
    return Vocabulary(title_words, title_weights, body_words, body_weights)


def _sentences(words: list[str], rng: np.random.Generator) -> list[str]:
    """Cut a run of words into capitalised sentences of 8–24 words."""
    out: list[str] = []
    start = 0
    while start < len(words):
        length = int(rng.integers(8, 25))
        chunk = words[start : start + length]
        start += length
        first = chunk[0]
        chunk[0] = first[:1].upper() + first[1:]
        out.append(" ".join(chunk) + ".")
    return out


def _paragraphs(sentences: list[str], rng: np.random.Generator) -> str:
    out: list[str] = []
    start = 0
    while start < len(sentences):
        length = int(rng.integers(2, 5))
        out.append(" ".join(sentences[start : start + length]))
        start += length
    return "\n\n".join(out)


def write_corpus(directory: Path, spec: CorpusSpec, vocabulary: Vocabulary) -> int:
    """Write spec.articles JSON Lines articles and topics.yaml into directory; returns the passage count."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "topics.yaml").write_text(_TOPICS_YAML, encoding="utf-8")
    rng = np.random.default_rng(spec.seed)
    epoch = datetime(2004, 1, 1, tzinfo=UTC)
    passages = 0
    # One file at a time: drawing every word of a large corpus at once would hold gigabytes of strings.
    for first in range(0, spec.articles, ARTICLES_PER_FILE):
        count = min(ARTICLES_PER_FILE, spec.articles - first)
        lengths = rng.integers(spec.min_words, spec.max_words + 1, size=count)
        title_lengths = rng.integers(4, 10, size=count)
        days = rng.integers(0, 730, size=count)
        body_words = vocabulary.body_words[
            rng.choice(len(vocabulary.body_words), size=int(lengths.sum()), p=vocabulary.body_weights)
        ].tolist()
        title_words = vocabulary.title_words[
            rng.choice(len(vocabulary.title_words), size=int(title_lengths.sum()), p=vocabulary.title_weights)
        ].tolist()
        body_at = title_at = 0
        lines: list[str] = []
        for offset in range(count):
            words = body_words[body_at : body_at + int(lengths[offset])]
            body_at += int(lengths[offset])
            title = " ".join(title_words[title_at : title_at + int(title_lengths[offset])])
            title_at += int(title_lengths[offset])
            row = {
                "id": article_id(first + offset),
                "title": title[:1].upper() + title[1:],
                "published": (epoch + timedelta(days=int(days[offset]))).date().isoformat(),
                "source": SOURCE,
                "body": _paragraphs(_sentences(words, rng), rng),
            }
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
            passages += len(split_passages(Article(row["id"], row["title"], row["body"])))
        name = f"articles-{first // ARTICLES_PER_FILE:04d}.jsonl"
        (directory / name).write_text("".join(lines), encoding="utf-8")
    return passages


def article_id(number: int) -> str:
    """The id of the number-th generated article."""
    return f"e2e-{number:07d}"


def write_alert_article(directory: Path, number: int = 0) -> str:
    """Add one new article on the alert topic (its own file, so the rest stays untouched); returns its id."""
    identifier = f"e2e-alert-{number:03d}"
    row = {
        "id": identifier,
        "title": f"{ALERT_ALIAS} exchange opens its doors, number {number}",
        "published": datetime.now(UTC).date().isoformat(),
        "source": SOURCE,
        "topics": [ALERT_TOPIC],
        "body": f"The {ALERT_ALIAS} exchange opened on Monday. Traders queued from early morning.",
    }
    (directory / f"zz-alert-{number:03d}.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return identifier


def questions(directory: Path, count: int, seed: int = 11) -> list[str]:
    """`count` questions built from words of random generated articles (so most of them match)."""
    rng = np.random.default_rng(seed)
    files = sorted(directory.glob("articles-*.jsonl"))
    rows: list[dict[str, str]] = []
    for path in files[: max(1, min(len(files), 3))]:  # a few files give plenty of variety
        with path.open(encoding="utf-8") as handle:
            rows.extend(json.loads(line) for line in handle if line.strip())
    out: list[str] = []
    for _ in range(count):
        row = rows[int(rng.integers(len(rows)))]
        words = [word for word in _words(row["title"] + " " + row["body"]) if len(word) >= 4]
        picked = [words[int(i)] for i in rng.integers(len(words), size=int(rng.integers(2, 5)))]
        frame = _QUESTION_FRAMES[int(rng.integers(len(_QUESTION_FRAMES)))]
        out.append(frame + " ".join(picked).lower() + ("?" if frame else ""))
    return out
