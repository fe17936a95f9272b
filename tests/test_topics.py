"""Topics: the topics file, whole-word mention detection through the analyzer, topics of an article."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.models import Article, Topic
from bot.core.topics import TopicMatcher, load_topics
from tests.conftest import CORPUS

TOPICS = (
    Topic("openai", "OpenAI", ("OpenAI", "ChatGPT", "Sora", "Codex")),
    Topic("ai-standards", "AI standards", ("AI standards", "Model Context Protocol", "MCP", "MIIT")),
)


def test_bundled_topics_file_loads_without_problems() -> None:
    topics, problems = load_topics(CORPUS / "topics.yaml")
    assert problems == ()
    slugs = {topic.slug for topic in topics}
    assert {"openai", "ai-standards"} <= slugs
    assert len(topics) >= 5


def test_mentions_are_whole_words_and_case_insensitive() -> None:
    matcher = TopicMatcher(TOPICS)
    assert [t.slug for t in matcher.mentions("what did CHATGPT's owner do?")] == ["openai"]
    assert matcher.mentions("Soraya and a codec of old") == []
    assert [t.slug for t in matcher.mentions("the model context protocol and OpenAI")] == [
        "ai-standards",
        "openai",
    ]


def test_phrase_must_be_contiguous() -> None:
    matcher = TopicMatcher(TOPICS)
    assert matcher.mentions("the model has some context on the protocol") == []


def test_mention_spans_point_at_the_words() -> None:
    matcher = TopicMatcher(TOPICS)
    text = "News: Model Context Protocol adopted by MIIT."
    spans = matcher.mention_spans(text)
    assert [(slug, text[start:end]) for slug, start, end in spans] == [
        ("ai-standards", "Model Context Protocol"),
        ("ai-standards", "MIIT"),
    ]


def test_a_topic_on_the_us_hears_the_country_not_the_pronoun() -> None:
    matcher = TopicMatcher((Topic("us-politics", "US politics", ("US", "Washington")),))
    assert [t.slug for t in matcher.mentions("American voters and the U.S. Senate")] == ["us-politics"]
    assert [t.slug for t in matcher.mentions("The US economy grew")] == ["us-politics"]
    assert matcher.mentions("Tell us what you think, it helps us") == []


def test_find_by_slug_or_name() -> None:
    matcher = TopicMatcher(TOPICS)
    assert matcher.find("AI Standards") is TOPICS[1]
    assert matcher.find("ai-standards") is TOPICS[1]
    assert matcher.find("openai") is TOPICS[0]
    assert matcher.find("weather") is None


def test_topics_of_article_uses_tags_and_text() -> None:
    matcher = TopicMatcher(TOPICS)
    tagged = Article(
        id="a", title="Standards news", body="Nothing about the company.", tags=("ai-standards",)
    )
    mentioned = Article(id="b", title="A video app closes", body="Sora is going away.")
    both = Article(id="c", title="MCP and ChatGPT", body="Both.", tags=("OpenAI",))
    assert matcher.topics_of(tagged) == ("ai-standards",)
    assert matcher.topics_of(mentioned) == ("openai",)
    assert set(matcher.topics_of(both)) == {"openai", "ai-standards"}


def test_bad_topics_file_entries_become_problems(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(
        "topics:\n"
        "  - slug: good\n    name: Good\n    aliases: [good news]\n"
        "  - slug: Bad Slug\n    name: Bad\n"
        "  - slug: good\n    name: Again\n"
        "  - slug: stop\n    name: The\n    aliases: [of the, and]\n"
        "  - just a string\n"
    )
    topics, problems = load_topics(path)
    assert [t.slug for t in topics] == ["good"]
    reasons = " | ".join(p.reason for p in problems)
    assert "slug must be" in reasons
    assert "duplicate slug" in reasons
    assert "no alias made of searchable words" in reasons
    assert "mapping" in reasons
    assert len(problems) == 4


def test_invalid_yaml_is_a_problem_with_line(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text("topics:\n  - slug: a\n    name: [unclosed\n")
    topics, problems = load_topics(path)
    assert topics == ()
    assert len(problems) == 1 and problems[0].line is not None
    assert "not valid YAML" in problems[0].reason


def test_a_missing_topics_file_is_a_problem_that_says_how_to_track_none(tmp_path: Path) -> None:
    topics, [problem] = load_topics(tmp_path / "absent.yaml")
    assert topics == ()
    assert problem.path == "absent.yaml" and "not found" in problem.reason
    assert "NEWSBOT_TOPICS_FILE" in problem.reason and "topics: []" in problem.reason
    (tmp_path / "none.yaml").write_text("topics: []\n")
    assert load_topics(tmp_path / "none.yaml") == ((), ())


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("topics:\n  - slug: a\n    name: A\n    aliases: [" + "9" * 5000 + "]\n", "not valid YAML"),
        ("topics: " + "[" * 3000 + "]" * 3000 + "\n", "not valid YAML"),
        ("topics:\n" + "  - slug: t\n    name: T\n    aliases: [" + "word, " * 60_000 + "]\n", "limit"),
    ],
    ids=["huge number", "nested", "too big"],
)
def test_a_hostile_topics_file_is_one_problem(tmp_path: Path, content: str, reason: str) -> None:
    """A topics file with a number past Python's digit limit, nesting past its recursion limit, or over
    the size cap (a 4.9 MB one took 14 s and 400 MB to read): one problem, fast, no topics, no crash."""
    path = tmp_path / "topics.yaml"
    path.write_text(content)
    topics, [problem] = load_topics(path)
    assert topics == () and reason in problem.reason


def test_a_topics_path_that_is_not_a_regular_file_is_a_problem_and_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "topics.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    topics, [problem] = load_topics(fifo)
    assert topics == () and "not a regular file" in problem.reason
    topics, [problem] = load_topics(tmp_path)
    assert topics == () and "not a regular file" in problem.reason
