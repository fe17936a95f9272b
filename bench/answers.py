"""python -m bench.answers: does the bot answer? Right article first, the asked fact in the snippet, silence
when the archive has nothing, and related stories that stay on topic.

On BBC News (../shared/data, loaded as JSON Lines through the bot's own corpus loader) with this project's
own question set (bench/answers/questions.jsonl: questions, expected article ids and short fact strings
only, never article text), side by side in one run with rank-bm25 over whole articles with our analyzer,
SQLite FTS5 (porter) and bm25s (when installed). Every figure is reported for the dev split (tuned on), dev2
(a second set to tune on, written later by a writer who never saw any system's answers), the held-out test
split, and the fresh split: questions written later by such a writer, and run only to be reported (a clean
hold-out, since the test split has been looked at). Then newsbot alone on small archives (the questions'
own articles, with and without others drawn at random), where the relevance rule meets words the archive
has never seen far more often. Prints a table on stdout, progress on stderr; --json writes the report.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.synth import BBC
from bot.core.library import Library, load_library
from bot.core.related import related_to_article
from bot.core.text import terms

QUESTIONS = Path(__file__).resolve().parent / "answers" / "questions.jsonl"
RESULTS = Path(__file__).resolve().parent / "results"
K = 10
SPLITS = ("dev", "dev2", "test", "fresh")
RELATED_SAMPLE = 300  # articles whose related stories are checked for staying on topic
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Question:
    """One question of the set: answerable ones list every article that answers them, and the facts."""

    id: str
    text: str
    articles: tuple[str, ...]  # empty: the archive cannot answer it
    facts: tuple[str, ...]
    kind: str  # paraphrase | lexical | detail | unanswerable
    split: str  # dev | dev2 | test | fresh (see the module's docstring)

    @property
    def answerable(self) -> bool:
        """Whether some article of the archive answers it."""
        return bool(self.articles)


@dataclass(frozen=True, slots=True)
class Answer:
    """What one system returned for one question: article ids best first, and the first one's snippet."""

    ranked: tuple[str, ...]
    snippet: str | None  # None: the system shows no snippet


def read_questions(path: Path = QUESTIONS) -> list[Question]:
    """The question set (one JSON object per line)."""
    questions = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions.append(
                Question(
                    id=row["id"],
                    text=row["question"],
                    articles=tuple(row["articles"]),
                    facts=tuple(row["facts"]),
                    kind=row["kind"],
                    split=row["split"],
                )
            )
    return questions


def read_bbc_rows(path: Path = BBC) -> list[dict[str, str]]:
    """The BBC News rows: id, category, title, body."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl_corpus(rows: Sequence[dict[str, str]], directory: Path, per_file: int = 500) -> None:
    """BBC News as JSON Lines corpus files the bot loads (kept under the loader's size cap)."""
    for start in range(0, len(rows), per_file):
        lines = [
            json.dumps({"id": row["id"], "title": row["title"], "body": row["body"], "source": "BBC News"})
            for row in rows[start : start + per_file]
        ]
        (directory / f"bbc-{start // per_file:02d}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")


# --- the systems -------------------------------------------------------------------------------------


def newsbot_answers(library: Library) -> Callable[[str], Answer]:
    """The bot's own answer path: Library.search, as the handlers and `newsbot ask` call it."""

    def answer(question: str) -> Answer:
        result = library.search(question, limit=K)
        hits = result.hits
        return Answer(tuple(hit.article.id for hit in hits), hits[0].snippet.text if hits else None)

    return answer


def rank_bm25_answers(rows: Sequence[dict[str, str]]) -> Callable[[str], Answer]:
    """rank-bm25's BM25Okapi over whole articles (title + body) with our analyzer; no snippets."""
    from rank_bm25 import BM25Okapi

    docs = [terms(f"{row['title']}\n{row['body']}") for row in rows]
    model = BM25Okapi(docs)
    vocab = [set(doc) for doc in docs]
    ids = [row["id"] for row in rows]
    order = np.arange(len(rows))

    def answer(question: str) -> Answer:
        query = terms(question)
        if not query:
            return Answer((), None)
        scores = model.get_scores(query)
        wanted = set(query)
        matched = np.asarray([bool(wanted & held) for held in vocab])
        ranking = np.lexsort((order, -scores))
        return Answer(tuple(ids[d] for d in ranking.tolist() if matched[d])[:K], None)

    return answer


def fts5_answers(rows: Sequence[dict[str, str]]) -> Callable[[str], Answer]:
    """SQLite FTS5 with the porter tokenizer and its bm25() ranking; the question's words OR-ed; its
    own snippet() function for the first answer."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, tokenize='porter')")
    db.executemany("INSERT INTO docs VALUES (?, ?, ?)", [(r["id"], r["title"], r["body"]) for r in rows])

    def answer(question: str) -> Answer:
        words = list(dict.fromkeys(word.lower() for word in _WORD.findall(question)))
        if not words:
            return Answer((), None)
        match = " OR ".join('"' + word.replace('"', '""') + '"' for word in words)
        found = db.execute(
            "SELECT id, snippet(docs, 2, '', '', '…', 48) FROM docs WHERE docs MATCH ? "
            "ORDER BY bm25(docs) LIMIT ?",
            (match, K),
        ).fetchall()
        return Answer(tuple(row[0] for row in found), found[0][1] if found else None)

    return answer


def bm25s_answers(rows: Sequence[dict[str, str]]) -> Callable[[str], Answer] | None:
    """bm25s with its defaults (Lucene BM25, English stop words, Snowball stemmer), when installed."""
    if importlib.util.find_spec("bm25s") is None:
        return None
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    ids = [row["id"] for row in rows]
    corpus = bm25s.tokenize(
        [f"{row['title']}\n{row['body']}" for row in rows],
        stopwords="en",
        stemmer=stemmer,
        show_progress=False,
    )
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    vocabulary = set(corpus.vocab)

    def answer(question: str) -> Answer:
        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False
        )
        known = [token for token in tokens[0] if token in vocabulary]
        if not known:
            return Answer((), None)
        documents, scores = retriever.retrieve([known], k=min(K, len(ids)), show_progress=False)
        return Answer(tuple(ids[int(d)] for d, s in zip(documents[0], scores[0], strict=True) if s > 0), None)

    return answer


# --- scoring ---------------------------------------------------------------------------------------


def fact_shown(snippet: str | None, facts: Iterable[str]) -> bool:
    """Whether one of the facts appears in the snippet (case and spacing ignored)."""
    if snippet is None:
        return False
    flat = " ".join(snippet.split()).casefold()
    return any(" ".join(fact.split()).casefold() in flat for fact in facts)


def score(questions: Sequence[Question], answers: dict[str, Answer]) -> dict[str, Any]:
    """top-1, top-3, MRR@10, fact-in-snippet and silence figures for one system on one split."""
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    top1 = top3 = 0
    reciprocal = 0.0
    right_first = facts = answered = 0
    snippets = any(answers[q.id].snippet is not None for q in questions)
    misses: list[str] = []
    fact_missed: list[str] = []
    for question in answerable:
        ranked = answers[question.id].ranked
        answered += bool(ranked)
        rank = next((i for i, doc in enumerate(ranked[:K]) if doc in question.articles), None)
        if rank is None:
            misses.append(question.id)
            continue
        reciprocal += 1 / (rank + 1)
        top3 += rank < 3
        if rank == 0:
            top1 += 1
            right_first += 1
            shown = fact_shown(answers[question.id].snippet, question.facts)
            facts += shown
            if snippets and not shown:
                fact_missed.append(question.id)
        else:
            misses.append(question.id)
    silent = sum(not answers[q.id].ranked for q in unanswerable)
    n = max(len(answerable), 1)
    return {
        "answerable": len(answerable),
        "top1": round(top1 / n, 4),
        "top3": round(top3 / n, 4),
        "mrr10": round(reciprocal / n, 4),
        "answered": round(answered / n, 4),
        "fact_in_snippet": round(facts / right_first, 4) if snippets and right_first else None,
        "unanswerable": len(unanswerable),
        "silent_on_unanswerable": round(silent / len(unanswerable), 4) if unanswerable else None,
        "not_first": misses,
        "fact_not_shown": fact_missed,
    }


def related_on_topic(library: Library, rows: Sequence[dict[str, str]], seed: int) -> dict[str, Any]:
    """Share of related articles in the same BBC category as their source, and near-duplicates offered."""
    category = {row["id"]: row["category"] for row in rows}
    body = {row["id"]: " ".join(row["body"].split()) for row in rows}
    sample = random.Random(seed).sample([row["id"] for row in rows], min(RELATED_SAMPLE, len(rows)))
    same = total = duplicates = 0
    times: list[float] = []
    for article_id in sample:
        began = time.perf_counter()
        hits = related_to_article(library, article_id, limit=3)
        times.append(time.perf_counter() - began)
        for hit in hits:
            total += 1
            same += category[hit.article.id] == category[article_id]
            duplicates += body[hit.article.id] == body[article_id]
    return {
        "sources": len(sample),
        "related": total,
        "same_category": round(same / total, 4) if total else None,
        "exact_duplicates_offered": duplicates,
        "p50_ms": round(float(np.percentile(times, 50)) * 1000, 3),
    }


# Small archives: each group's answering articles plus this many others drawn at random. A newsroom's
# archive starts small, and the relevance rule weighs a word the archive has never seen by its size.
SMALL_EXTRAS = (0, 300, 1000)
SMALL_GROUPS = (("tuned on", ("dev", "dev2")), ("held out", ("test", "fresh")))
# ... and tiny ones: TINY_DRAWS draws of TINY_QUESTIONS (answerable, unanswerable) of a group, with the
# articles of the answerable ones plus TINY_EXTRA others (about 50 articles in all), summed over the draws.
TINY_DRAWS = 12
TINY_QUESTIONS = (30, 10)
TINY_EXTRA = 20


@dataclass
class _Tally:
    """newsbot's answers on one or more small archives: counts, summed."""

    archives: int = 0
    articles: int = 0
    answerable: int = 0
    right: int = 0  # right first, with the relevance rule
    right_without_rule: int = 0
    unanswerable: int = 0
    silent: int = 0

    def ask(
        self, rows: Sequence[dict[str, str]], answerable: Sequence[Question], unanswerable: Sequence[Question]
    ) -> None:
        """Build an archive of these rows and put the questions to it."""
        with tempfile.TemporaryDirectory(prefix="newsbot-small-") as scratch:
            corpus = Path(scratch) / "corpus"
            corpus.mkdir()
            write_jsonl_corpus(rows, corpus)
            library = load_library(corpus, corpus / "topics.yaml")
        self.archives += 1
        self.articles += library.article_count
        self.answerable += len(answerable)
        self.right += sum(_first_right(library, q, None) for q in answerable)
        self.right_without_rule += sum(_first_right(library, q, 0.0) for q in answerable)
        self.unanswerable += len(unanswerable)
        self.silent += sum(not library.search(q.text, limit=1).hits for q in unanswerable)

    def figures(self, group: str, splits: Sequence[str]) -> dict[str, Any]:
        return {
            "group": group,
            "splits": list(splits),
            "archives": self.archives,
            "articles": round(self.articles / max(self.archives, 1)),  # (the mean archive's)
            "answerable": self.answerable,
            "top1": round(self.right / max(self.answerable, 1), 4),
            "top1_without_rule": round(self.right_without_rule / max(self.answerable, 1), 4),
            "unanswerable": self.unanswerable,
            "silent_on_unanswerable": round(self.silent / self.unanswerable, 4)
            if self.unanswerable
            else None,
        }


def _first_right(library: Library, question: Question, min_relevance: float | None) -> bool:
    hits = library.search(question.text, limit=1, min_relevance=min_relevance).hits
    return bool(hits) and hits[0].article.id in question.articles


def small_archives(
    rows: Sequence[dict[str, str]], questions: Sequence[Question], seed: int
) -> list[dict[str, Any]]:
    """newsbot on small archives, for each group of splits: the articles its questions name plus each of
    SMALL_EXTRAS others, then TINY_DRAWS tiny archives; top-1 with and without the relevance rule, and
    silence on the unanswerable questions."""
    figures: list[dict[str, Any]] = []
    for group, group_splits in SMALL_GROUPS:
        answerable = [q for q in questions if q.split in group_splits and q.answerable]
        unanswerable = [q for q in questions if q.split in group_splits and not q.answerable]
        if not answerable:
            continue
        for extra in SMALL_EXTRAS:
            tally = _Tally()
            tally.ask(_archive_of(rows, answerable, extra, random.Random(seed)), answerable, unanswerable)
            figures.append(tally.figures(group, group_splits))
        tally = _Tally()
        for draw in range(TINY_DRAWS):
            pick = random.Random(seed * 1000 + draw)
            some = pick.sample(answerable, min(TINY_QUESTIONS[0], len(answerable)))
            none = pick.sample(unanswerable, min(TINY_QUESTIONS[1], len(unanswerable)))
            tally.ask(_archive_of(rows, some, TINY_EXTRA, pick), some, none)
        figures.append(tally.figures(group, group_splits))
    return figures


def _archive_of(
    rows: Sequence[dict[str, str]], asked: Sequence[Question], extra: int, pick: random.Random
) -> list[dict[str, str]]:
    """The rows the questions name, then `extra` of the others drawn by `pick`."""
    named = {article for q in asked for article in q.articles}
    others = [row for row in rows if row["id"] not in named]
    return [row for row in rows if row["id"] in named] + pick.sample(others, min(extra, len(others)))


# --- the run -----------------------------------------------------------------------------------------


def run(
    splits: Sequence[str], seed: int, *, bbc: Path = BBC, questions_path: Path = QUESTIONS
) -> dict[str, Any]:
    """Every system on every question, scored per split, plus related-story focus and search latency."""
    rows = read_bbc_rows(bbc)
    questions = [q for q in read_questions(questions_path) if q.split in splits]
    say(f"{len(rows)} articles, {len(questions)} questions ({', '.join(splits)})")
    with tempfile.TemporaryDirectory(prefix="newsbot-answers-") as scratch:
        corpus = Path(scratch) / "corpus"
        corpus.mkdir()
        write_jsonl_corpus(rows, corpus)
        started = time.perf_counter()
        library = load_library(corpus, corpus / "topics.yaml")
        build_s = time.perf_counter() - started
    problems = [str(p) for p in library.problems if "topics" not in p.path]
    systems: dict[str, Callable[[str], Answer]] = {"newsbot": newsbot_answers(library)}
    say("building the peers")
    systems["rank-bm25 (whole articles, our analyzer)"] = rank_bm25_answers(rows)
    systems["SQLite FTS5 (porter)"] = fts5_answers(rows)
    peer = bm25s_answers(rows)
    if peer is not None:
        systems["bm25s"] = peer
    report: dict[str, Any] = {
        "articles": len(rows),
        "passages": len(library.passages),
        "build_s": round(build_s, 2),
        "load_problems": problems[:5],
        "systems": {},
    }
    for name, answer in systems.items():
        say(f"asking {name}")
        answers: dict[str, Answer] = {}
        times: list[float] = []
        for question in questions:
            began = time.perf_counter()
            answers[question.id] = answer(question.text)
            times.append(time.perf_counter() - began)
        per_split = {split: score([q for q in questions if q.split == split], answers) for split in splits}
        report["systems"][name] = {
            "splits": per_split,
            "p50_ms": round(float(np.percentile(times, 50)) * 1000, 3),
            "p99_ms": round(float(np.percentile(times, 99)) * 1000, 3),
        }
    say("related stories")
    report["related"] = related_on_topic(library, rows, seed)
    say("small archives")
    report["small"] = small_archives(rows, questions, seed)
    return report


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the tables."""
    print(f"[bench.answers {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def print_report(report: dict[str, Any], splits: Sequence[str]) -> None:
    """The side-by-side table, one block per split."""
    print(f"BBC News: {report['articles']} articles, {report['passages']} passages (newsbot)")
    for split in splits:
        any_system = next(iter(report["systems"].values()))["splits"][split]
        counts = f"{any_system['answerable']} answerable, {any_system['unanswerable']} unanswerable"
        print(f"\n{split} split: {counts}")
        print(f"{'system':<42}{'top-1':>8}{'top-3':>8}{'MRR@10':>8}{'fact':>8}{'silent':>8}{'answered':>10}")
        for name, row in report["systems"].items():
            s = row["splits"][split]
            print(
                f"{name:<42}{_percent(s['top1']):>8}{_percent(s['top3']):>8}{s['mrr10']:>8.3f}"
                f"{_percent(s['fact_in_snippet']):>8}{_percent(s['silent_on_unanswerable']):>8}"
                f"{_percent(s['answered']):>10}"
            )
    print(f"\n{'system':<42}{'p50 ms':>8}{'p99 ms':>8}")
    for name, row in report["systems"].items():
        print(f"{name:<42}{row['p50_ms']:>8.2f}{row['p99_ms']:>8.2f}")
    related = report["related"]
    print(
        f"\nrelated stories of {related['sources']} articles: {_percent(related['same_category'])} in the "
        f"source's category, {related['exact_duplicates_offered']} exact duplicates offered, "
        f"p50 {related['p50_ms']:.2f} ms"
    )
    if report.get("small"):
        print("\nnewsbot on small archives (the questions' own articles and others at random)")
        print(f"{'questions':<28}{'articles':>14}{'top-1':>8}{'no rule':>9}{'silent':>8}")
        for row in report["small"]:
            label = f"{row['group']} ({'+'.join(row['splits'])})"
            size = (
                f"{row['articles']:,}" if row["archives"] == 1 else f"{row['archives']} × ~{row['articles']}"
            )
            print(
                f"{label:<28}{size:>14}{_percent(row['top1']):>8}"
                f"{_percent(row['top1_without_rule']):>9}{_percent(row['silent_on_unanswerable']):>8}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the answer benchmark and print (or write) its report."""
    parser = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "both", "all"),
        default="all",
        help="one split, dev and test (both), or every split (all, the default)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument(
        "--misses",
        action="store_true",
        help="list the questions each system got wrong, and right with no fact shown",
    )
    args = parser.parse_args(argv)
    if not BBC.is_file():
        print(f"bench.answers: BBC News data not found at {BBC}", file=sys.stderr)
        return 2
    present = {question.split for question in read_questions()}
    wanted = {"both": ("dev", "test"), "all": SPLITS}.get(args.split, (args.split,))
    splits = tuple(split for split in wanted if split in present)
    report = run(splits, args.seed)
    print_report(report, splits)
    if args.misses:
        for name, row in report["systems"].items():
            for split in splits:
                figures = row["splits"][split]
                print(f"{name} {split} misses: {' '.join(figures['not_first'])}")
                if figures["fact_not_shown"]:
                    shown_none = " ".join(figures["fact_not_shown"])
                    print(f"{name} {split} right first, fact not shown: {shown_none}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
