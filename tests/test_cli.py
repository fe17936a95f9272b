"""The `newsbot` CLI through a subprocess: human output, the --json contract, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CORPUS, REPO

_SNAPSHOTS: list[Path] = []


@pytest.fixture(autouse=True, scope="module")
def _snapshots_outside_the_repo(tmp_path_factory: pytest.TempPathFactory) -> None:
    _SNAPSHOTS[:] = [tmp_path_factory.mktemp("snapshots")]


def newsbot(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    base["NEWSBOT_SNAPSHOT_DIR"] = str(_SNAPSHOTS[0])
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=base, capture_output=True, text=True, timeout=120
    )


def test_ask_json_contract() -> None:
    result = newsbot("ask", "How much money was Sora losing every day?", "--json", "--corpus", str(CORPUS))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"query", "results"}
    assert payload["query"] == "How much money was Sora losing every day?"
    first = payload["results"][0]
    assert set(first) == {
        "article_id",
        "title",
        "url",
        "source",
        "published",
        "score",
        "snippet",
        "highlights",
        "topics",
    }
    assert first["article_id"] == "openai-sora-shutdown"
    assert "$1 million" in first["snippet"]
    assert isinstance(first["score"], float)
    assert "openai" in first["topics"]
    for start, end in first["highlights"]:
        assert 0 <= start < end <= len(first["snippet"])
    assert len(payload["results"]) == 1  # only the Sora story is about all of that
    broad = ("ask", "OpenAI video standards", "--json", "--corpus", str(CORPUS))
    # Only the Sora and MIIT stories hold enough of the three words (0.56 and 0.44 of their weight, the
    # others 0.13); with the relevance rule off, every story sharing a word is a result, up to the
    # default limit of three.
    assert [r["article_id"] for r in json.loads(newsbot(*broad).stdout)["results"]] == [
        "openai-sora-shutdown",
        "miit-ai-standards-feedback",
    ]
    loose = json.loads(newsbot(*broad, env={"NEWSBOT_MIN_RELEVANCE": "0"}).stdout)
    assert len(loose["results"]) == 3


def test_ask_json_is_empty_for_a_question_the_archive_cannot_answer() -> None:
    for question in ("What is Bitcoin worth today?", "Who won the 2022 World Cup in Qatar?"):
        result = newsbot("ask", question, "--json", "--corpus", str(CORPUS))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"query": question, "results": []}


def test_ask_limit_and_no_match() -> None:
    one = json.loads(newsbot("ask", "OpenAI", "--limit", "1", "--json", "--corpus", str(CORPUS)).stdout)
    assert len(one["results"]) == 1
    none = newsbot("ask", "cricket semifinal", "--json", "--corpus", str(CORPUS))
    assert none.returncode == 0
    assert json.loads(none.stdout) == {"query": "cricket semifinal", "results": []}


def test_ask_human_output_marks_matches_without_colour() -> None:
    result = newsbot("ask", "Sora daily losses", "--corpus", str(CORPUS))
    assert result.returncode == 0
    assert result.stdout.startswith("1. OpenAI to close its Sora video app")
    assert "*" in result.stdout  # highlights are starred when stdout is not a terminal
    assert "\x1b[" not in result.stdout


def test_ask_human_no_match_says_so() -> None:
    result = newsbot("ask", "what is it", "--corpus", str(CORPUS))
    assert result.returncode == 0
    assert "Nothing in the archive matches" in result.stdout
    assert "common words" in result.stdout


def test_ask_human_no_match_names_the_words_no_story_holds() -> None:
    result = newsbot("ask", "Cricket semifinal tickets?", "--corpus", str(CORPUS))
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == [
        "Nothing in the archive matches “Cricket semifinal tickets?”.",
        "No story in the archive mentions “Cricket”, “semifinal” or “tickets”.",
    ]


def test_related_json_and_unknown_id() -> None:
    result = newsbot("related", "openai-sora-shutdown", "--json", "--corpus", str(CORPUS))
    payload = json.loads(result.stdout)
    assert payload["article_id"] == "openai-sora-shutdown"
    ids = [r["article_id"] for r in payload["results"]]
    assert ids and "openai-sora-shutdown" not in ids
    missing = newsbot("related", "nope", "--corpus", str(CORPUS))
    assert missing.returncode == 1
    assert "no article with id 'nope'" in missing.stderr


def test_brief_json_contract_quotes_the_articles_verbatim(tmp_path: Path) -> None:
    from tests.test_briefs_e2e import write_corpus

    corpus = tmp_path / "corpus"
    now = datetime.now(UTC)
    articles = write_corpus(corpus, now)
    env = {"NEWSBOT_DATABASE": str(tmp_path / "absent.sqlite3")}
    result = newsbot("brief", "ferries", "--json", "--corpus", str(corpus), env=env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"query", "topic", "period", "since", "until", "stories"}
    assert (payload["query"], payload["topic"], payload["period"]) == ("ferries", "ferries", "24h")
    assert datetime.fromisoformat(payload["until"]) - datetime.fromisoformat(payload["since"]) == timedelta(
        days=1
    )
    first = payload["stories"][0]
    assert set(first) == {"story_id", "title", "url", "sources", "articles", "score", "quotes"}
    assert first["sources"] == ["Coast Wire", "Harbour Gazette"]
    assert {story["story_id"] for story in payload["stories"]} == {"strike-wire", "new-route"}
    for story in payload["stories"]:
        for quote in story["quotes"]:
            body, url, published = articles[quote["article_id"]]
            assert body[quote["start"] : quote["end"]] == quote["sentence"]
            assert quote["url"] == url and datetime.fromisoformat(quote["published"]) == published
    week = newsbot("brief", "Kestrel", "Bay", "--period", "7d", "--corpus", str(corpus), env=env)
    assert week.returncode == 0, week.stderr
    assert week.stdout.startswith("Brief: Kestrel Bay · the last 7 days")
    assert "Winter ferry timetable cuts late sailing" in week.stdout and "repainted" not in week.stdout
    nothing = newsbot("brief", "volcano", "--json", "--corpus", str(corpus), env=env)
    assert nothing.returncode == 0 and json.loads(nothing.stdout)["stories"] == []
    said = newsbot("brief", "ferry", "timetable", "--corpus", str(corpus), env=env)
    assert said.stdout.splitlines() == [
        "Nothing in the last 24 hours on “ferry timetable”.",
        'The last 7 days hold 1 story: newsbot brief "ferry timetable" --period 7d',
    ]
    refused = newsbot("brief", "ferries", "--period", "30d", "--corpus", str(corpus), env=env)
    assert refused.returncode == 2 and "not a period: '30d'" in refused.stderr


def test_topics_json() -> None:
    payload = json.loads(newsbot("topics", "--json", "--corpus", str(CORPUS)).stdout)
    by_slug = {t["slug"]: t for t in payload["topics"]}
    assert by_slug["openai"]["articles"] == 3
    assert "ChatGPT" in by_slug["openai"]["aliases"]
    assert set(by_slug["ai-standards"]) == {"slug", "name", "aliases", "articles"}


def test_check_bundled_corpus_is_clean() -> None:
    result = newsbot("check", "--corpus", str(CORPUS))
    assert result.returncode == 0, result.stdout
    assert "4 articles" in result.stdout
    assert "0 problems" in result.stdout
    payload = json.loads(newsbot("check", "--json", "--corpus", str(CORPUS)).stdout)
    assert payload["articles"] == 4 and payload["problems"] == [] and payload["topics"] >= 5


def test_check_reports_problems_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "topics.yaml").write_text("topics: []\n")
    (tmp_path / "good.md").write_text("---\ntitle: Good\n---\nA fine body about harbours.\n")
    (tmp_path / "bad.md").write_text("---\ntitle: [unclosed\n---\nBody\n")
    result = newsbot("check", "--json", "--corpus", str(tmp_path))
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["articles"] == 1
    assert [p["path"] for p in payload["problems"]] == ["bad.md"]
    assert payload["problems"][0]["reason"]


def test_missing_corpus_directory_says_how_to_point_at_one(tmp_path: Path) -> None:
    result = newsbot("ask", "x", "--corpus", str(tmp_path / "absent"))
    assert result.returncode != 0
    assert "corpus directory not found" in result.stderr
    assert "--corpus" in result.stderr and "NEWSBOT_CORPUS_DIR" in result.stderr
    default = newsbot("ask", "x", cwd=tmp_path)  # an installed tool run anywhere: the default is relative
    assert default.returncode != 0 and str(tmp_path / "corpus") in default.stderr
    assert "--corpus" in default.stderr and "NEWSBOT_CORPUS_DIR" in default.stderr


def test_a_5000_digit_number_is_one_problem_and_check_json_stays_json(tmp_path: Path) -> None:
    """A JSON Lines file with one line holding a 5,000-digit number: `check --json` still prints its JSON
    (with that line as a problem) and the other line loads; `ask` answers from it."""
    (tmp_path / "topics.yaml").write_text("topics: []\n")
    (tmp_path / "wire.jsonl").write_text(
        '{"title": "Huge", "body": "Numbers", "views": ' + "9" * 5000 + "}\n"
        '{"id": "crane", "title": "Harbour crane record", "body": "A new crane lifted a record load."}\n'
    )
    result = newsbot("check", "--json", "--corpus", str(tmp_path))
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    assert payload["articles"] == 1
    [problem] = payload["problems"]
    assert (problem["path"], problem["line"]) == ("wire.jsonl", 1) and "4300 digits" in problem["reason"]
    asked = newsbot("ask", "crane record", "--json", "--corpus", str(tmp_path))
    assert asked.returncode == 0, asked.stderr
    assert [r["article_id"] for r in json.loads(asked.stdout)["results"]] == ["crane"]


def test_json_outputs_stay_json_on_every_error(tmp_path: Path) -> None:
    """With --json, stdout is one JSON object whatever goes wrong: an unknown id, a missing corpus, a bad
    setting; the one-line message also goes to stderr, and the exit code says what kind of failure."""
    unknown = newsbot("related", "BADID", "--json", "--corpus", str(CORPUS))
    assert unknown.returncode == 1
    assert json.loads(unknown.stdout) == {
        "article_id": "BADID",
        "results": [],
        "error": "no article with id 'BADID' (see `newsbot check`)",
    }
    missing = newsbot("ask", "x", "--json", "--corpus", str(tmp_path / "absent"))
    assert missing.returncode == 1 and "corpus directory not found" in json.loads(missing.stdout)["error"]
    setting = newsbot("topics", "--json", "--corpus", str(CORPUS), env={"NEWSBOT_MAX_FILE_MB": "lots"})
    assert setting.returncode == 2
    assert json.loads(setting.stdout)["error"].startswith("NEWSBOT_MAX_FILE_MB")
    for result in (unknown, missing, setting):
        assert result.stderr.strip().startswith("newsbot: ")


def test_a_missing_or_broken_topics_file_is_a_problem_in_topics_and_check(tmp_path: Path) -> None:
    (tmp_path / "story.md").write_text("---\ntitle: Harbour\n---\nCranes and ships.\n")
    absent = newsbot("topics", "--corpus", str(tmp_path))
    assert absent.returncode == 1
    assert "No topics defined" not in absent.stdout
    assert "topics file not found" in absent.stderr and "NEWSBOT_TOPICS_FILE" in absent.stderr
    named = newsbot("topics", "--json", "--corpus", str(tmp_path), env={"NEWSBOT_TOPICS_FILE": "nope.yaml"})
    assert named.returncode == 1
    payload = json.loads(named.stdout)
    assert payload["topics"] == [] and "topics file not found" in payload["problems"][0]["reason"]
    (tmp_path / "topics.yaml").write_text("topics: [unclosed\n")
    broken = newsbot("check", "--json", "--corpus", str(tmp_path))
    assert broken.returncode == 1
    assert [p["path"] for p in json.loads(broken.stdout)["problems"]] == ["topics.yaml"]


def test_run_without_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = newsbot("run", "--corpus", str(CORPUS), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "NEWSBOT_TELEGRAM_TOKEN" in lines[0]


def test_python_dash_m_and_console_script_agree() -> None:
    script = Path(sys.executable).with_name("newsbot")
    assert script.exists()
    env = {**os.environ, "NEWSBOT_SNAPSHOT_DIR": str(_SNAPSHOTS[0])}
    out = subprocess.run(
        [str(script), "topics", "--json", "--corpus", str(CORPUS)], capture_output=True, text=True, env=env
    )
    assert json.loads(out.stdout) == json.loads(newsbot("topics", "--json", "--corpus", str(CORPUS)).stdout)


def test_python_dash_m_bot_without_the_dependencies_says_how_to_get_them(tmp_path: Path) -> None:
    """`python3 -m bot` with a Python that lacks newsbot's dependencies (here: site-packages switched
    off) says to run `make install` and where the installed command is, instead of a traceback."""
    result = subprocess.run(
        [sys.executable, "-S", "-m", "bot", "check"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "make install" in result.stderr and ".venv/bin/newsbot" in result.stderr
