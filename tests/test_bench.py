"""The benchmark tool on tiny data: seeded generators, the systems side by side with identical rankings,
the JSON contract and the printed tables. Figures themselves are never asserted."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bench.__main__ import Plan, print_report, run
from bench.answer_path import BESIDE, BESIDE_PARTS, PARTS, compare_beside, compare_year_depth, measure
from bench.queries import make_questions
from bench.serving import library_from_synthetic
from bench.synth import read_bbc, real_corpus, synthetic_articles, synthetic_passages
from bench.systems import in_turn, tantivy_available
from bot.core.corpus import load_corpus
from bot.core.index import BM25Index
from bot.core.library import YEAR_PAGE_DEPTH, years_named

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_bbc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled articles written in the BBC News file format, so the test needs no shared data."""
    path = tmp_path_factory.mktemp("bbc") / "bbc_news.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for number, article in enumerate(load_corpus(REPO / "corpus").articles):
            row = {
                "id": f"tech/{number:03d}",
                "category": "tech",
                "title": article.title,
                "body": article.body,
            }
            handle.write(json.dumps(row) + "\n")
    return path


def test_generators_are_seeded_and_shaped_like_the_source(tiny_bbc: Path) -> None:
    real = real_corpus(read_bbc(tiny_bbc))
    first = synthetic_passages(real, 300, seed=4)
    again = synthetic_passages(real, 300, seed=4)
    assert first.passages == again.passages and first.owners.tolist() == again.owners.tolist()
    assert first.passages != synthetic_passages(real, 300, seed=5).passages
    assert len(first.passages) == 300 and len(first.owners) == 300
    assert list(first.owners) == sorted(first.owners)
    vocabulary = set(real.vocabulary)
    words = [term for passage in first.passages for term in passage]
    assert sum(term in vocabulary for term in words) / len(words) > 0.9  # mostly real terms, a few fresh
    articles = list(synthetic_articles(real, 30, seed=4))
    assert articles == list(synthetic_articles(real, 30, seed=4))
    assert len({a["id"] for a in articles}) == 30 and all(a["title"] and a["body"] for a in articles)
    questions = make_questions(real, 40, seed=4)
    assert questions == make_questions(real, 40, seed=4)
    assert all(q.terms for q in questions) and {q.kind for q in questions} == {"passage", "title"}


def test_a_tiny_run_keeps_the_json_contract(
    tiny_bbc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = Plan(
        mode="test",
        scales=[0, 400],
        questions=25,
        reference_questions={0: 25, 400: 25},
        reference_scales={0, 400},
        articles=40,
        quality_reference=False,
        bm25s_backend="numpy",  # its numba backend would compile anew in each child, 10 s or more
        reload_window_s=0.2,
    )
    report = run(plan, seed=3, bbc=tiny_bbc, scifact=tmp_path / "no-scifact")
    json.dumps(report)  # serialisable as it stands
    assert isinstance(report["machine"], str) and report["machine"]
    assert [scale["passages"] for scale in report["scales"]][1] == 400
    for scale in report["scales"]:
        systems = scale["systems"]
        assert set(systems) == {"newsbot", "rank_bm25", "bm25s", "tantivy"}
        ours = systems["newsbot"]
        for key in ("build_s", "peak_rss_mb", "index_mb", "p50_ms", "p99_ms", "qps"):
            assert key in ours and key in systems["rank_bm25"]
        assert ours["top10_agreement"] == 1.0
        assert ours["max_rel_diff_vs_rank_bm25"] <= 1e-9
        assert ours["compared_queries"] == 25
        for peer in ("bm25s", "tantivy"):  # optional peers: skipped when not installed, never failing
            assert "error" not in systems[peer]
        assert "skipped" in systems["bm25s"] or systems["bm25s"]["backend"] == "numpy"
        turn = scale["in_turn"]
        if tantivy_available():
            assert turn["questions"] > 0 and turn["newsbot"]["queries"] == turn["rounds"] * turn["questions"]
            assert turn["tantivy"]["queries"] == turn["newsbot"]["queries"]
            assert turn["p50_ratio"] > 0 and turn["p99_ratio"] > 0
        else:
            assert "skipped" in turn
    search = report["library_search"]
    assert search["queries"] == search["index_top_k"]["queries"] == search["passes"] * 25
    assert search["p99_over_index_p99"] == round(search["p99_ms"] / search["index_top_k"]["p99_ms"], 2)
    assert report["snapshot"]["same_answers"] is True
    assert report["corpus_load"]["articles"] == 40 and report["corpus_load"]["problems"] == 0
    reload = report["reload"]
    assert reload["error"] is None and reload["articles"] == 40
    assert reload["answers_during"]["queries"] >= 1
    assert "skipped" in report["quality"]
    print_report(report, "python -m bench --test")
    printed = capsys.readouterr().out
    assert "| 400 " in printed and "newsbot" in printed and "rank_bm25" in printed
    assert "answers during /reload of 40 articles" in printed
    assert "Library.search p99 / top_k p99" in printed


def test_systems_asked_in_turn_take_turns_going_first(tiny_bbc: Path) -> None:
    """Every system answers every question each round, the first to be asked rotating from one question
    to the next; the ratio is the one system's latency over the other's."""
    from rank_bm25 import BM25Okapi

    real = real_corpus(read_bbc(tiny_bbc))
    passages = synthetic_passages(real, 300, seed=8).passages
    index, reference = BM25Index.build(passages), BM25Okapi([list(p) for p in passages])
    asked: list[tuple[str, tuple[str, ...]]] = []  # (system, question) in the order they were asked

    def recorded(name: str, search: Callable[[list[str]], object]) -> Callable[[Sequence[str]], object]:
        def ask(terms: Sequence[str]) -> object:
            asked.append((name, tuple(terms)))
            return search(list(terms))

        return ask

    searches = {
        "ours": recorded("ours", lambda terms: index.top_k(terms, 10)),
        "rank-bm25": recorded("rank-bm25", reference.get_scores),
    }
    questions = [list(q.terms) for q in make_questions(real, 30, seed=8)][:25]
    result = in_turn(searches, questions, 2, over="rank-bm25", under="ours")
    assert result["questions"] == 25 and result["rounds"] == 2
    assert result["ours"]["queries"] == result["rank-bm25"]["queries"] == 50
    timed = asked[-100:]  # (the warm-up asks the first questions first)
    assert [terms for _, terms in timed[0::2]] == [tuple(q) for q in questions] * 2
    assert [terms for _, terms in timed[1::2]] == [tuple(q) for q in questions] * 2
    firsts = [system for system, _ in timed[0::2]]
    assert firsts == ["ours", "rank-bm25"] * 25
    ratio = result["rank-bm25"]["p50_ms"] / result["ours"]["p50_ms"]
    assert result["p50_ratio"] == round(ratio, 2)


def test_the_answer_path_is_timed_part_by_part(tiny_bbc: Path) -> None:
    real = real_corpus(read_bbc(tiny_bbc))
    library = library_from_synthetic(synthetic_passages(real, 400, seed=5), seed=5)
    summary = measure(library, make_questions(real, 12, seed=5), passes=2)
    beside = {name + BESIDE for name in BESIDE_PARTS}
    assert set(summary) == {*PARTS, *beside, "rest", "search", "index top_k"}
    assert all(figures["p50_ms"] <= figures["p99_ms"] for figures in summary.values())
    assert summary["search"]["mean_ms"] >= summary["top_articles"]["mean_ms"]
    # The comparison of the count beside the ranking and in line asks each question once, in turn.
    compared = compare_beside(library, make_questions(real, 30, seed=6))
    assert {name: figures["questions"] for name, figures in compared.items()} == {
        "beside": 5,
        "in line": 5,
        "index top_k": 10,
    }
    # The questions naming a year, each asked with a shallow and a deep first page in turn, per pass.
    asked = make_questions(real, 20, seed=7)
    asked += [replace(q, text=f"{q.text} in 2004", terms=(*q.terms, "2004")) for q in asked[:6]]
    dated = [question for question in asked if years_named(question.terms)]
    depths = compare_year_depth(library, asked, passes=2)
    assert {name: figures["questions"] for name, figures in depths.items()} == {
        "first page of 2": 2 * len(dated),
        f"first page of {YEAR_PAGE_DEPTH}": 2 * len(dated),
    }
