"""Tests for bot.core.corpus: every format, markup stripping, page clean-up, problems, ids, fingerprints."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.corpus import ARTICLE_SUFFIXES, corpus_fingerprint, load_corpus, load_file
from bot.core.models import Article, Corpus, Problem

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BUNDLED = Path(__file__).resolve().parents[1] / "corpus"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def by_id(corpus: Corpus) -> dict[str, Article]:
    return {article.id: article for article in corpus.articles}


def problems_for(corpus: Corpus, path: str) -> list[Problem]:
    return [problem for problem in corpus.problems if problem.path == path]


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


GOOD_MD = "---\ntitle: A good article\n---\nThe good body.\n"


# --------------------------------------------------------------------------- formats


@pytest.fixture(scope="module")
def formats() -> Corpus:
    return load_corpus(FIXTURES / "corpus_formats")


def test_every_format_loads_without_problems(formats: Corpus) -> None:
    assert formats.problems == ()
    assert sorted(by_id(formats)) == sorted(
        [
            "chip-rules",
            "ai/timezone-datetime.md",
            "ai/naive-datetime.markdown",
            "wire-100",
            "wire/2024.jsonl#L3",
            "wire/2024.jsonl#L4",
            "pages/harbour-festival.txt",
            "tech-feed-0001",
            "https://feed.example.com/mowers",
            "urn:example:science:42",
        ]
    )


def test_articles_come_in_sorted_path_order(formats: Corpus) -> None:
    paths = [article.path for article in formats.articles]
    assert paths == sorted(paths)


def test_markdown_front_matter_fields(formats: Corpus) -> None:
    article = by_id(formats)["chip-rules"]
    assert article.title == "New export rules for AI chips"
    assert article.published == datetime(2024, 5, 1, tzinfo=UTC)  # date-only = UTC midnight
    assert article.source == "Example Wire"
    assert article.url == "https://example.com/chips"
    assert article.tags == ("chips", "policy", "trade", "export")
    assert article.path == "ai/chip-export-rules.md"
    assert article.line is None


def test_markdown_dates_are_always_timezone_aware(formats: Corpus) -> None:
    articles = by_id(formats)
    with_offset = articles["ai/timezone-datetime.md"].published
    assert with_offset == datetime(2024, 5, 2, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert with_offset is not None and with_offset.utcoffset() == timedelta(hours=2)
    naive = articles["ai/naive-datetime.markdown"].published
    assert naive == datetime(2024, 5, 4, 8, 15, tzinfo=UTC)
    assert naive is not None and naive.tzinfo is not None
    assert articles["ai/timezone-datetime.md"].tags == ("chips", "energy")  # comma-separated string


def test_markdown_markup_is_stripped(formats: Corpus) -> None:
    body = by_id(formats)["chip-rules"].body
    assert body.split("\n\n") == [
        "Regulators in Freedonia published new rules on Tuesday for exporting accelerator chips "
        "used to train models.",
        "The rules take effect in ninety days, the ministry said.",
        "What changes",
        "Licences are needed above a set compute threshold.",
        "Small research labs are exempt.",
        "threshold = 4800 TOPS",
        "Read the notice at https://example.com/notice. It runs to forty pages & three annexes.",
    ]
    for leftover in ("**", "_new", "](", "![", "`", "<b>", "<br>", "&amp;", "> ", "# ", "---", "[notice]"):
        assert leftover not in body
    assert "A chip on a board" not in body  # images are dropped, alt text too
    assert "New export rules for AI chips" not in body  # the heading repeating the title


def test_jsonl_lines_become_articles_with_line_numbers(formats: Corpus) -> None:
    articles = by_id(formats)
    wire = articles["wire-100"]
    assert (wire.path, wire.line) == ("wire/2024.jsonl", 1)
    assert wire.published == datetime(2024, 5, 3, 12, tzinfo=UTC)
    assert wire.source == "Wire Desk"
    assert wire.tags == ("law", "data")
    assert wire.body == (
        "A court in Osterlich ruled that scraping public pages is lawful in some cases.\n\n"
        "The losing side plans to appeal."
    )
    satellite = articles["wire/2024.jsonl#L3"]  # line 2 is blank and skipped
    assert satellite.line == 3
    assert satellite.tags == ("space", "hardware")
    assert satellite.published == datetime(2024, 5, 5, tzinfo=UTC)


def test_text_page_first_line_is_title(formats: Corpus) -> None:
    page = by_id(formats)["pages/harbour-festival.txt"]
    assert page.title == "Harbour festival returns after renovation"
    assert page.body == (
        "The harbour festival in Port Vell returns this weekend after a two-year renovation of the quay.\n\n"
        "Organisers expect forty boats to take part in the opening parade."
    )


def test_rss_items(formats: Corpus) -> None:
    articles = by_id(formats)
    battery = articles["tech-feed-0001"]
    assert battery.title == "Battery plant begins production"
    assert battery.url == "https://feed.example.com/battery"
    assert battery.published == datetime(2024, 5, 6, 5, 0, tzinfo=UTC)
    assert battery.source == "Example Tech Feed"  # the feed's title, as the item names none
    assert battery.tags == ("energy", "manufacturing")
    assert battery.body == (
        "A battery plant in Grand Fenwick began production & hired 300 workers.\n\n"
        "Output will double next year."
    )
    mowers = articles["https://feed.example.com/mowers"]  # no guid: the link is the id
    assert mowers.published is None
    assert mowers.body == "A maker recalled 2,000 robot lawnmowers over a blade fault."


def test_atom_entry(formats: Corpus) -> None:
    comet = by_id(formats)["urn:example:science:42"]
    assert comet.title == "Telescope spots a new comet"
    assert comet.url == "https://science.example.com/comet"
    assert comet.published == datetime(2024, 5, 7, 10, tzinfo=UTC)
    assert comet.tags == ("astronomy",)
    assert comet.source == "Example Science Feed"
    assert comet.body == "Astronomers in Elbonia spotted a faint comet.\n\nIt will be visible in June."


def test_readme_unknown_types_and_dot_files_are_ignored_quietly(formats: Corpus) -> None:
    paths = {article.path for article in formats.articles}
    assert not {"README.md", "topics.yaml", "notes.csv", ".hidden.md"} & paths
    assert all(article.title not in ("Not an article", "Hidden file") for article in formats.articles)
    assert formats.problems == ()


def test_feed_entry_without_guid_or_link_gets_path_id(tmp_path: Path) -> None:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bare</title>'
        "<item><title>One</title><description>First entry.</description></item>"
        "<item><title>Two</title><description>Second entry.</description></item>"
        "</channel></rss>"
    )
    write(tmp_path, "bare.rss", rss)
    corpus = load_corpus(tmp_path)
    assert [(a.id, a.title) for a in corpus.articles] == [("bare.rss#1", "One"), ("bare.rss#2", "Two")]


def test_front_matter_may_carry_an_id_and_tags_list(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\nid: custom-id\ntitle: T\ntags: [x, y]\ntopics: [y, z]\n---\nBody.\n")
    article = load_corpus(tmp_path).articles[0]
    assert article.id == "custom-id"
    assert article.tags == ("y", "z", "x")


def test_paragraph_lines_are_joined_with_one_space(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntitle: T\n---\nfirst line\n  second   line\n\n\n\nnext\tparagraph\n")
    assert load_corpus(tmp_path).articles[0].body == "first line second line\n\nnext paragraph"


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    write(tmp_path, "a.md", b"\xef\xbb\xbf---\r\ntitle: Windows\r\n---\r\nLine one\r\n\r\nLine two\r\n")
    corpus = load_corpus(tmp_path)
    assert corpus.problems == ()
    assert corpus.articles[0].title == "Windows"
    assert corpus.articles[0].body == "Line one\n\nLine two"


def test_load_file_parses_one_file() -> None:
    root = FIXTURES / "corpus_formats"
    result = load_file(root / "wire" / "2024.jsonl", root)
    assert [a.id for a in result.articles] == ["wire-100", "wire/2024.jsonl#L3", "wire/2024.jsonl#L4"]
    assert result.problems == ()


def test_article_suffixes() -> None:
    assert {".md", ".markdown", ".jsonl", ".txt", ".xml", ".rss", ".atom"} == set(ARTICLE_SUFFIXES)


def test_progress_reports_every_file(tmp_path: Path) -> None:
    for name in ("a.md", "b.md", "c.txt"):
        write(tmp_path, name, GOOD_MD.replace("A good article", name) if name.endswith(".md") else "T\nBody")
    calls: list[tuple[int, int]] = []
    load_corpus(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


# --------------------------------------------------------------------------- scraped pages


@pytest.fixture(scope="module")
def scraped() -> Corpus:
    return load_corpus(FIXTURES / "corpus_scraped")


def test_scraped_page_keeps_each_paragraph_once_without_chrome_or_teasers(scraped: Corpus) -> None:
    page = by_id(scraped)["solar-library.txt"]
    assert page.title == "Lakeside Town Opens Solar-Powered Library"
    assert page.body.split("\n\n") == [
        "The town of Ellbridge opened a library on Monday that runs entirely on rooftop solar panels, "
        "council officials said.",
        "The building cost 4 million euros and holds about 60,000 books, according to the council. "
        "Its reading room faces the lake.",
        "Librarians expect the reading room to stay open two hours later in summer, "
        "when the panels produce the most power.",
    ]
    for teaser_or_chrome in ("Related", "Night Trains", "Bakery", "Museum", "Comments", "0/500", "Home"):
        assert teaser_or_chrome not in page.body


def test_scraped_page_without_teaser_marker(scraped: Corpus) -> None:
    page = by_id(scraped)["bike-lanes.txt"]
    assert page.title == "City Council Approves Bike Lanes"  # "Home" above it is chrome
    assert page.body.split("\n\n") == [
        "The council voted seven to two on Tuesday to build protected bike lanes along Main Street.",
        "Work is planned to begin in the spring and last about four months.",
    ]
    assert scraped.problems == ()


def test_real_seed_page_is_cleaned() -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"shared seeds not found at {SEEDS}")
    corpus = load_corpus(SEEDS)
    assert corpus.problems == ()
    page = corpus.articles[0]
    assert page.title == "OpenAI's Sora Exits Video Market with Heavy Losses"
    paragraphs = page.body.split("\n\n")
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith("According to a recent Wall Street Journal report")
    for unwanted in ("Related", "MIIT", "Comments (0)", "0/500", "Home"):
        assert unwanted not in page.body


# --------------------------------------------------------------------------- problems


@pytest.fixture(scope="module")
def bad() -> Corpus:
    return load_corpus(FIXTURES / "corpus_bad")


def test_bad_files_do_not_stop_the_good_ones(bad: Corpus) -> None:
    assert sorted(by_id(bad)) == ["copy-one", "good-one", "shared-id", "wire-ok-1", "wire-ok-2"]
    assert by_id(bad)["shared-id"].title == "The first article with this id"


@pytest.mark.parametrize(
    ("path", "line", "words"),
    [
        ("bad-yaml.md", 3, "not valid YAML"),
        ("not-mapping.md", 2, "not a list"),
        ("no-title.md", None, "missing title"),
        ("empty-body.md", None, "empty body"),
        ("bad-date.md", None, "invalid date 'next tuesday-ish'"),
        ("number-title.md", None, "'source' must be text"),
        ("never-closed.md", 1, "never closed"),
        ("no-front-matter.md", 1, "no front matter"),
        ("not-a-feed.xml", None, "not an RSS or Atom feed"),
        ("dup-id-b.md", None, "duplicate id 'shared-id', first used in dup-id-a.md"),
        ("copy-two.md", None, "same title and text as article 'copy-one'"),
    ],
)
def test_each_bad_file_is_one_problem(bad: Corpus, path: str, line: int | None, words: str) -> None:
    found = problems_for(bad, path)
    assert len(found) == 1, found
    assert found[0].line == line
    assert words in found[0].reason


def test_bad_jsonl_lines_are_problems_with_line_numbers(bad: Corpus) -> None:
    found = {problem.line or 0: problem.reason for problem in problems_for(bad, "wire.jsonl")}
    assert sorted(found) == [2, 3, 4, 7, 8]
    assert "not valid JSON" in found[2]
    assert "JSON object" in found[3]
    assert "'title' must be text" in found[4]
    assert "empty body" in found[7]
    assert "'tags'" in found[8]


def test_problems_print_with_path_and_line(bad: Corpus) -> None:
    assert any(str(problem).startswith("wire.jsonl:2: not valid JSON") for problem in bad.problems)


def test_invalid_utf8(tmp_path: Path) -> None:
    write(tmp_path, "good.md", GOOD_MD)
    write(tmp_path, "latin1.md", "---\ntitle: Caf\u00e9\n---\nbody\n".encode("latin-1"))
    corpus = load_corpus(tmp_path)
    assert [a.path for a in corpus.articles] == ["good.md"]
    assert corpus.problems == (Problem("latin1.md", 2, corpus.problems[0].reason),)
    assert "invalid UTF-8" in corpus.problems[0].reason


def test_invalid_utf8_in_one_jsonl_line(tmp_path: Path) -> None:
    write(tmp_path, "w.jsonl", b'{"title": "Ok", "body": "fine"}\n{"title": "Caf\xe9", "body": "x"}\n')
    corpus = load_corpus(tmp_path)
    assert [a.title for a in corpus.articles] == ["Ok"]
    assert [(p.line, "invalid UTF-8" in p.reason) for p in corpus.problems] == [(2, True)]


def test_binary_file(tmp_path: Path) -> None:
    write(tmp_path, "good.md", GOOD_MD)
    write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    corpus = load_corpus(tmp_path)
    assert [a.path for a in corpus.articles] == ["good.md"]
    assert [(p.path, "binary" in p.reason) for p in corpus.problems] == [("image.txt", True)]


def test_file_over_size_cap(tmp_path: Path) -> None:
    write(tmp_path, "small.md", GOOD_MD)
    write(tmp_path, "big.md", "---\ntitle: Big\n---\n" + "word " * 400)
    corpus = load_corpus(tmp_path, max_bytes=1000)
    assert [a.path for a in corpus.articles] == ["small.md"]
    assert [p.path for p in corpus.problems] == ["big.md"]
    assert "over the 1,000-byte limit" in corpus.problems[0].reason
    assert "NEWSBOT_MAX_FILE_MB" in corpus.problems[0].reason  # the setting that raises the limit


def test_huge_sparse_file_is_refused_by_size(tmp_path: Path) -> None:
    with (tmp_path / "huge.txt").open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: reading it whole would be slow and wasteful
    corpus = load_corpus(tmp_path)
    assert corpus.articles == ()
    assert "67,108,864 bytes" in corpus.problems[0].reason


def test_symlinks_leaving_the_corpus_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "secret.md", "---\ntitle: Secret\n---\nShould never load.\n")
    root = tmp_path / "corpus"
    write(root, "good.md", GOOD_MD)
    (root / "escape.md").symlink_to(outside / "secret.md")
    (root / "escape-dir").symlink_to(outside, target_is_directory=True)
    (root / "outside.yaml").symlink_to(outside / "secret.md")  # not an article type: quiet
    corpus = load_corpus(root)
    assert [a.title for a in corpus.articles] == ["A good article"]
    assert sorted(p.path for p in corpus.problems) == ["escape-dir", "escape.md"]
    assert all("outside the corpus directory" in p.reason for p in corpus.problems)


def test_symlinks_inside_the_corpus(tmp_path: Path) -> None:
    write(tmp_path, "real/a.md", GOOD_MD)
    (tmp_path / "alias.md").symlink_to(tmp_path / "real" / "a.md")
    (tmp_path / "real" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "self.md").symlink_to(tmp_path / "self.md")
    (tmp_path / "dangling.md").symlink_to(tmp_path / "missing.md")
    corpus = load_corpus(tmp_path)
    # The alias loads (same content: reported as a duplicate of the real file); the loop is never followed.
    assert [a.path for a in corpus.articles] == ["alias.md"]
    reasons = {p.path: p.reason for p in corpus.problems}
    assert set(reasons) == {"dangling.md", "real/a.md", "self.md"}
    assert "broken symlink" in reasons["dangling.md"]
    assert "same title and text" in reasons["real/a.md"]
    assert "cannot be resolved" in reasons["self.md"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path: Path) -> None:
    write(tmp_path, "good.md", GOOD_MD)
    locked = write(tmp_path, "locked.md", GOOD_MD.replace("good", "locked"))
    locked.chmod(0)
    try:
        corpus = load_corpus(tmp_path)
    finally:
        locked.chmod(0o644)
    assert [a.path for a in corpus.articles] == ["good.md"]
    assert [p.path for p in corpus.problems] == ["locked.md"]
    assert "cannot read" in corpus.problems[0].reason


def test_missing_corpus_directory_is_a_problem(tmp_path: Path) -> None:
    corpus = load_corpus(tmp_path / "nowhere")
    assert corpus.articles == ()
    assert len(corpus.problems) == 1 and "does not exist" in corpus.problems[0].reason


def test_feed_with_an_undated_entry_problem(tmp_path: Path) -> None:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
        "<item><guid>ok</guid><title>Fine</title><description>Fine text.</description></item>"
        "<item><guid>bad</guid><title>Odd date</title><pubDate>the day after never</pubDate>"
        "<description>Text.</description></item>"
        "<item><guid>untitled</guid><description>No title.</description></item>"
        "</channel></rss>"
    )
    write(tmp_path, "f.xml", rss)
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["ok"]
    reasons = [p.reason for p in corpus.problems]
    assert len(reasons) == 2
    assert reasons[0].startswith("feed entry 2: invalid date")
    assert reasons[1] == "feed entry 3: missing title"


# --------------------------------------------------------------------------- ids


def test_ids_are_stable_across_loads() -> None:
    first = load_corpus(FIXTURES / "corpus_formats")
    second = load_corpus(FIXTURES / "corpus_formats")
    assert [a.id for a in first.articles] == [a.id for a in second.articles]
    assert first == second


def test_path_ids_use_forward_slashes_and_line_suffix(tmp_path: Path) -> None:
    write(tmp_path, "deep/er/page.md", GOOD_MD)
    write(tmp_path, "deep/w.jsonl", '{"title": "a", "body": "b"}\n\n{"title": "c", "body": "d", "id": 7}\n')
    assert [a.id for a in load_corpus(tmp_path).articles] == ["deep/er/page.md", "deep/w.jsonl#L1", "7"]


# --------------------------------------------------------------------------- bundled corpus


def test_bundled_corpus_loads_cleanly() -> None:
    corpus = load_corpus(BUNDLED)
    assert corpus.problems == ()
    assert sorted(by_id(corpus)) == [
        "miit-ai-standards-feedback",
        "openai-codex-sites",
        "openai-defense-chatgpt-uninstalls",
        "openai-sora-shutdown",
    ]
    for article in corpus.articles:
        paragraphs = article.body.split("\n\n")
        assert 2 <= len(paragraphs) <= 5, article.id
        assert article.published is None and article.url is None and article.source is None


def test_bundled_corpus_carries_every_figure_from_the_seed() -> None:
    articles = by_id(load_corpus(BUNDLED))
    sora = articles["openai-sora-shutdown"].body
    for figure in ("1 million users", "500,000", "$1 million", "April", "September", "Wall Street Journal"):
        assert figure in sora
    assert "121" in articles["miit-ai-standards-feedback"].body
    assert "Model Context Protocol" in articles["miit-ai-standards-feedback"].body
    assert "295%" in articles["openai-defense-chatgpt-uninstalls"].body
    assert "Business and Enterprise" in articles["openai-codex-sites"].body


def test_bundled_articles_use_known_topic_slugs() -> None:
    topics = yaml.safe_load((BUNDLED / "topics.yaml").read_text(encoding="utf-8"))["topics"]
    slugs = {topic["slug"] for topic in topics}
    assert {"openai", "ai-standards"} <= slugs
    assert 6 <= len(slugs) <= 8
    for topic in topics:
        assert topic["name"] and topic["aliases"], topic["slug"]
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", topic["slug"])
    for article in load_corpus(BUNDLED).articles:
        assert article.tags, article.id
        assert set(article.tags) <= slugs, article.id


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_changes_only_when_candidate_files_change(tmp_path: Path) -> None:
    page = write(tmp_path, "a.md", GOOD_MD)
    first = corpus_fingerprint(tmp_path)
    assert corpus_fingerprint(tmp_path) == first

    write(tmp_path, "notes.csv", "ignored,file\n")
    write(tmp_path, "README.md", "# ignored\n")
    assert corpus_fingerprint(tmp_path) == first

    page.write_text(GOOD_MD + "More text.\n", encoding="utf-8")
    edited = corpus_fingerprint(tmp_path)
    assert edited != first

    stat = page.stat()
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # same size, newer mtime
    touched = corpus_fingerprint(tmp_path)
    assert touched != edited

    write(tmp_path, "sub/b.txt", "Title\nBody\n")
    added = corpus_fingerprint(tmp_path)
    assert added != touched

    (tmp_path / "sub" / "b.txt").unlink()
    assert corpus_fingerprint(tmp_path) == touched


# --------------------------------------------------------------------------- robustness


_SUFFIXES = sorted(ARTICLE_SUFFIXES)
_CONTENT = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda text: text.encode()),
    st.text(max_size=200).map(lambda text: f"---\n{text}\n---\n{text}".encode()),
    st.text(max_size=200).map(lambda text: f"<rss><channel><item>{text}</item></channel></rss>".encode()),
    st.lists(st.text(max_size=60), max_size=5).map(lambda lines: "\n".join(lines).encode()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(st.tuples(st.sampled_from(_SUFFIXES), _CONTENT), min_size=1, max_size=4))
def test_load_never_raises_on_arbitrary_content(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        names = []
        for number, (suffix, content) in enumerate(files):
            name = f"f{number}{suffix}"
            (root / name).write_bytes(content)
            names.append(name)
        corpus = load_corpus(root)
        for article in corpus.articles:
            assert article.title.strip() and article.body.strip()
            assert article.path in names
            assert article.published is None or article.published.tzinfo is not None
            assert "\n\n\n" not in article.body
        assert all(problem.path in names and problem.reason for problem in corpus.problems)
        assert len({article.id for article in corpus.articles}) == len(corpus.articles)


# --------------------------------------------------------------------------- values at the edges

HUGE = "9" * 5000  # past Python's 4,300-digit limit for turning text into an int

EDGE_CASES = [
    # (file, content, what the reason says) — each must be one problem, never an exception
    ("ids.jsonl", '{"title": "T", "body": "B", "id": ' + HUGE + "}\n", "4300 digits"),
    ("views.jsonl", '{"title": "T", "body": "B", "views": -' + HUGE + "}\n", "4300 digits"),
    (
        "early.jsonl",
        '{"title": "T", "body": "B", "published": "0001-01-01T00:00:00+01:00"}\n',
        "out of range",
    ),
    ("late.jsonl", '{"title": "T", "body": "B", "published": "9999-12-31T23:00:00-02:00"}\n', "out of range"),
    ("first.jsonl", '{"title": "T", "body": "B", "published": "0001-01-01"}\n', "out of range"),
    (
        "last.jsonl",
        '{"title": "T", "body": "B", "published": "9999-12-31T23:59:59.999999"}\n',
        "out of range",
    ),
    ("early.md", "---\ntitle: T\npublished: 0001-01-01T00:00:00+01:00\n---\n\nB\n", "out of range"),
    ("quoted.md", "---\ntitle: T\npublished: '0001-01-01T00:00:00+01:00'\n---\n\nB\n", "out of range"),
    ("late.md", "---\ntitle: T\npublished: 9999-12-31T23:00:00-02:00\n---\n\nB\n", "out of range"),
    ("date.md", "---\ntitle: T\npublished: 0001-01-01\n---\n\nB\n", "out of range"),
    ("huge.md", "---\ntitle: T\nid: " + HUGE + "\n---\n\nB\n", "4300 digits"),
    ("deep.md", "---\ntitle: T\ntags: " + "[" * 5000 + "]" * 5000 + "\n---\n\nB\n", "not valid YAML"),
]


@pytest.mark.parametrize(("name", "content", "reason"), EDGE_CASES, ids=[case[0] for case in EDGE_CASES])
def test_values_at_the_edges_are_one_problem_each(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    """Huge numbers and dates at the edges of the calendar, with and without zones: the file (or line)
    becomes one problem and the rest of the corpus loads; nothing raises, nothing loads that a later
    step (a snapshot, a sort by date) could choke on."""
    write(tmp_path, name, content)
    write(tmp_path, "good.md", GOOD_MD)
    corpus = load_corpus(tmp_path)
    assert [article.title for article in corpus.articles] == ["A good article"]
    [problem] = corpus.problems
    assert problem.path == name and reason in problem.reason


def test_dates_just_inside_the_calendar_still_load(tmp_path: Path) -> None:
    write(
        tmp_path,
        "edges.jsonl",
        '{"title": "Old", "body": "B", "published": "0001-01-02T12:00:00+01:00"}\n'
        '{"title": "New", "body": "C", "published": "9999-12-30T00:00:00-05:00"}\n',
    )
    corpus = load_corpus(tmp_path)
    assert corpus.problems == ()
    assert [a.published.year for a in corpus.articles if a.published] == [1, 9999]


def test_a_fifo_or_other_special_file_is_a_problem_and_never_opened(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer forever; it must be reported, not read or skipped
    in silence (and a symlink to one is no different)."""
    write(tmp_path, "good.md", GOOD_MD)
    os.mkfifo(tmp_path / "pipe.md")
    os.symlink(tmp_path / "pipe.md", tmp_path / "link.jsonl")
    os.mkfifo(tmp_path / "notes.bin")  # not an article name: ignored like any other file
    corpus = load_corpus(tmp_path)
    assert [article.title for article in corpus.articles] == ["A good article"]
    assert {(p.path, "not a regular file" in p.reason) for p in corpus.problems} == {
        ("pipe.md", True),
        ("link.jsonl", True),
    }
    assert corpus_fingerprint(tmp_path)  # fingerprinting never opens it either
