"""Topics: the topics file, whole-word mention detection through the analyzer, topics of an article."""

from __future__ import annotations

from pathlib import Path

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


def test_missing_topics_file_means_no_topics(tmp_path: Path) -> None:
    assert load_topics(tmp_path / "absent.yaml") == ((), ())
