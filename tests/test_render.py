"""Telegram HTML rendering: escaping, highlights, citations, message bodies, buttons, lengths, splitting."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import Command, command
from bot.core.briefs import Brief, Briefing, BriefItem, BriefStory, sentence_spans
from bot.core.models import Article, Hit, Problem, Snippet, StandIn, Topic
from bot.render import messages
from bot.render.briefs import brief_message
from bot.render.buttons import Button
from bot.render.html import ALLOWED_TAGS, escape, html_to_plain, split_html, utf16_len, visible_length
from bot.render.messages import answer, answer_keyboard, citation, format_date, highlight

NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class StrictTelegramHTML(HTMLParser):
    """Parses like a strict Telegram: only allowed tags, properly nested, no bare <, > or &."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, f"tag <{tag}> is not allowed"
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"], attrs
            href = attrs[0][1] or ""
            assert urlsplit(href).scheme in ("http", "https"), href
        else:
            assert attrs == [], attrs
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for bad in "<>&":
            assert bad not in data, f"bare {bad!r} in {data!r}"
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        assert name in NAMED_ENTITIES, f"&{name}; is not a Telegram entity"
        self.text.append(NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name[0] in "xX" else int(name)))

    def handle_comment(self, data: str) -> None:
        raise AssertionError("comment")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError("declaration")

    def handle_pi(self, data: str) -> None:
        raise AssertionError("processing instruction")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError("unknown declaration")


def parse(html: str) -> str:
    """Assert the HTML is valid Telegram HTML and return its visible text."""
    parser = StrictTelegramHTML()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], f"unclosed {parser.stack}"
    return "".join(parser.text)


def squash(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


def article(
    title: str = "Rates rise again",
    *,
    url: str | None = "https://news.example/rates",
    source: str | None = "BBC News",
    published: datetime | None = datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    body: str = "The bank raised rates.\n\nMarkets fell.",
    id: str = "a1",
) -> Article:
    return Article(id=id, title=title, body=body, published=published, source=source, url=url)


# --- escaping and highlighting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("</b>", "&lt;/b&gt;"),
        ("&amp;", "&amp;amp;"),
        ("Tom & Jerry > 3", "Tom &amp; Jerry &gt; 3"),
    ],
)
def test_escape_neutralises_markup(hostile: str, expected: str) -> None:
    assert escape(hostile) == expected
    assert parse(escape(hostile)) == hostile


def test_escape_quotes_only_for_attributes() -> None:
    assert escape('say "hi"') == 'say "hi"'
    assert escape('a"b', quote=True) == "a&quot;b"


def test_highlight_bolds_spans_at_the_right_words() -> None:
    text = "Inflation fell as rates rose"
    snippet = Snippet(text, ((text.index("rates"), text.index("rates") + 5), (0, 9)))
    assert highlight(snippet) == "<b>Inflation</b> fell as <b>rates</b> rose"


def test_highlight_counts_offsets_in_characters_across_emoji_and_accents() -> None:
    text = "Café 😀 prices 👨‍👩‍👧 rose in Zürich"
    spans = tuple((text.index(w), text.index(w) + len(w)) for w in ("prices", "Zürich"))
    assert highlight(Snippet(text, spans)) == "Café 😀 <b>prices</b> 👨‍👩‍👧 rose in <b>Zürich</b>"


def test_highlight_escapes_inside_and_outside_spans() -> None:
    text = "AT&T <buys> T-Mobile"
    out = highlight(Snippet(text, ((0, 4), (5, 11))))
    assert out == "<b>AT&amp;T</b> <b>&lt;buys&gt;</b> T-Mobile"
    assert parse(out) == text


def test_highlight_merges_overlaps_and_drops_bad_spans() -> None:
    text = "central bank raises rates"
    spans = ((0, 7), (3, 12), (-5, 2), (20, 999), (10, 10), (15, 8), (500, 600))
    out = highlight(Snippet(text, spans))
    assert out == "<b>central bank</b> raises <b>rates</b>"
    assert parse(out) == text


def test_format_date() -> None:
    assert format_date(datetime(2026, 11, 24, 23, 59, tzinfo=UTC)) == "24 Nov 2026"
    assert format_date(datetime(2025, 1, 5)) == "5 Jan 2025"
    assert format_date(None) == ""


# --- citations and message bodies -------------------------------------------------------------------


def test_citation_with_url_source_date_and_snippet() -> None:
    text = "The bank raised rates to 5%."
    snippet = Snippet(text, ((text.index("rates"), text.index("rates") + 5),))
    out = citation(article(), snippet=snippet, number=1)
    assert out == (
        '1. <a href="https://news.example/rates">Rates rise again</a>\n'
        "<i>BBC News · 24 Nov 2026</i>\n"
        "The bank raised <b>rates</b> to 5%."
    )


def test_citation_without_url_source_or_date() -> None:
    out = citation(article(url=None, source=None, published=None))
    assert out == "<b>Rates rise again</b>"
    assert citation(article(url=None, published=None)) == "<b>Rates rise again</b>\n<i>BBC News</i>"
    assert citation(article(url=None, source=None)) == "<b>Rates rise again</b>\n<i>24 Nov 2026</i>"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://files.example/x",
        "//no.scheme",
        "https://",
        "",
    ],
)
def test_citation_refuses_non_http_links(url: str) -> None:
    out = citation(article(title="Click <me>", url=url))
    assert out.startswith("<b>Click &lt;me&gt;</b>")
    assert "href" not in out
    parse(out)


def test_citation_escapes_quotes_and_ampersands_in_urls() -> None:
    out = citation(article(url='https://x.example/?q="a"&b=<c>'))
    assert out.startswith('<a href="https://x.example/?q=&quot;a&quot;&amp;b=&lt;c&gt;">')
    parse(out)
    assert html_to_plain(out).startswith('Rates rise again (https://x.example/?q="a"&b=<c>)')


def test_citation_keeps_a_multiline_snippet_on_one_line() -> None:
    snippet = Snippet("first line\n\nsecond line", ((12, 18),))
    out = citation(article(), snippet=snippet)
    assert out.endswith("\nfirst line  <b>second</b> line")


def hit(title: str, text: str, *, id: str) -> Hit:
    start = text.index("rates")
    return Hit(article(title, id=id), 1.0, Snippet(text, ((start, start + 5),)))


def test_answer_numbers_citations_from_the_offset() -> None:
    hits = [hit("One", "rates up", id="1"), hit("Two", "rates down", id="2")]
    out = answer("what about <rates>?", hits, offset=3, total=12)
    blocks = out.split("\n\n")
    assert blocks[0] == "<b>Results 4–5 of 12 for «what about &lt;rates&gt;?»</b>"
    assert blocks[1].startswith('4. <a href="https://news.example/rates">One</a>')
    assert blocks[2].startswith('5. <a href="https://news.example/rates">Two</a>')
    assert blocks[2].endswith("<b>rates</b> down")
    parse(out)


def test_answer_header_trims_a_long_query() -> None:
    query = "word " * 100
    header = answer(query, [hit("One", "rates", id="1")]).split("\n\n")[0]
    assert header.startswith("<b>Results for «word word")
    assert header.endswith("…»</b>")
    assert len(header) < 130


def test_answer_names_the_words_no_story_holds_under_its_header() -> None:
    out = answer("rates & Zorblax", [hit("One", "rates up", id="1")], unknown=("Zorblax",))
    header, first = out.split("\n\n")[:2]
    assert header.endswith("\n<i>No story in the archive mentions “Zorblax”.</i>")
    assert first.startswith("1.") or "One" in first
    parse(out)
    assert "mentions" not in answer("rates", [hit("One", "rates up", id="1")])


def test_answer_without_hits_is_a_no_match() -> None:
    assert answer("zebra", []) == messages.no_match("zebra")


def test_no_match_shows_hint_and_suggestions() -> None:
    out = messages.no_match("<the of>", hint="Your question has only common words.")
    assert out.startswith("Nothing in the archive matches «&lt;the of&gt;».")
    assert "<i>Your question has only common words.</i>" in out
    assert "/topics" in out and "/latest" in out
    parse(out)


def test_no_match_names_the_words_no_story_holds() -> None:
    out = messages.no_match("Zorblax <b> prices", unknown=("Zorblax", "<b>"))
    assert "<i>No story in the archive mentions “Zorblax” or “&lt;b&gt;”.</i>" in out
    parse(out)
    many = messages.no_match("a b c d", unknown=("Alpha", "Beta", "Gamma", "Delta"))
    assert "mentions “Alpha”, “Beta” or “Gamma”." in many and "Delta" not in many.split("»", 1)[1]
    assert "mentions" not in messages.no_match("zebra")


def test_a_word_searched_as_another_alias_of_its_topic_is_said_escaped() -> None:
    stand_in = StandIn("Pentagon", "DoD <x>", "Military & AI")
    found = [hit("Deal with the DoD", "The DoD agreed on rates.", id="1")]
    out = answer("Pentagon <deal>", found, unknown=("Pentagon",), stand_ins=(stand_in,))
    assert (
        "<i>No story in the archive mentions “Pentagon”. Searched for “DoD &lt;x&gt;” in place of "
        "“Pentagon”: both name the topic Military &amp; AI.</i>"
    ) in out
    parse(out)
    alone = messages.unknown_words_line((), (StandIn("pentagon", "DoD", "Military AI"),))
    assert alone == "Searched for “DoD” in place of “pentagon”: both name the topic Military AI."


def test_related_and_article_list() -> None:
    items = [article("First", id="1"), article("Second & more", url=None, id="2")]
    out = messages.related("Rates <rise>", items)
    assert out.split("\n\n")[0] == "<b>Related to «Rates &lt;rise&gt;»</b>"
    assert "\n\n2. <b>Second &amp; more</b>\n<i>BBC News · 24 Nov 2026</i>" in out
    assert messages.related("X <y>", []) == "No related stories for “X &lt;y&gt;” yet."
    latest = messages.article_list("Latest stories", items)
    assert latest.startswith("<b>Latest stories</b>\n\n1. <a href")
    for html in (out, latest, messages.article_list("Empty", [])):
        parse(html)


def test_topic_list_and_key_values() -> None:
    rows = [
        (Topic("economy", "Economy & Markets", description="Money <matters>"), 12),
        (Topic("ai", "AI"), 1),
    ]
    out = messages.topic_list(rows)
    assert "• <b>Economy &amp; Markets</b> — <code>economy</code>, 12 articles" in out
    assert "<i>Money &lt;matters&gt;</i>" in out
    assert "• <b>AI</b> — <code>ai</code>, 1 article" in out
    kv = messages.key_values("Status", [("Articles", "2,225"), ("Index <built>", "3 s")])
    assert kv == "<b>Status</b>\nArticles: <b>2,225</b>\nIndex &lt;built&gt;: <b>3 s</b>"
    parse(out)
    parse(kv)


def test_help_text_hides_admin_commands_from_others() -> None:
    commands = [
        Command("ask", "<question>", "Search the archive", "/ask rate cuts"),
        Command("reload", "", "Reload the corpus", "", admin=True),
    ]
    public = messages.help_text(commands, is_admin=False)
    assert "/ask &lt;question&gt; — Search the archive\n<i>e.g.</i> <code>/ask rate cuts</code>" in public
    assert "/reload" not in public
    admin = messages.help_text(commands, is_admin=True)
    assert "<b>Admin commands</b>\n\n/reload — Reload the corpus" in admin
    parse(public)
    parse(admin)


def test_usage_lines_follow_the_command_table() -> None:
    search = messages.usage(command("search"))
    assert search == "Usage: <code>/search QUERY</code>, e.g. <code>/search Sora daily losses</code>"
    subscribe = command("subscribe")
    line = messages.usage(subscribe)
    assert line.startswith(f"Usage: <code>/subscribe {escape(subscribe.args)}</code>")
    assert line.endswith(f". {escape(subscribe.hint)}") and subscribe.hint
    made_up = Command("brew", "<tea>", "Brew tea", "/brew green & mint", hint="Hot & <strong>.")
    assert messages.usage(made_up) == (
        "Usage: <code>/brew &lt;tea&gt;</code>, e.g. <code>/brew green &amp; mint</code>. "
        "Hot &amp; &lt;strong&gt;."
    )
    for each in (search, line, messages.usage(made_up)):
        parse(each)


def test_welcome_mentions_size_and_topics() -> None:
    out = messages.welcome(2225, [f"Topic {i}" for i in range(10)])
    assert "2,225 articles" in out
    assert "Topic 0, Topic 1" in out and "and 2 more" in out
    parse(out)


def test_reload_report_success_and_failure() -> None:
    problems = [Problem("feeds/bad.xml", None, "not a feed"), Problem("a.jsonl", 3, "no title")]
    added = ["A <new> one", "B", "C"]
    out = messages.reload_report(
        before=10, after=12, seconds=1.25, added=added, removed=["Old"], problems=problems, shown=2
    )
    assert out.startswith("<b>Reload finished</b> in 1.2 s\nArticles: 10 → 12")
    assert "Added: 3\n• A &lt;new&gt; one\n• B\n… and 1 more" in out
    assert "Removed: 1\n• Old" in out
    assert "Changed" not in out
    assert "Problems: 2\n• feeds/bad.xml: not a feed\n• a.jsonl:3: no title" in out
    failed = messages.reload_report(before=10, after=10, seconds=0.5, kept_old=True, error="disk <gone>")
    assert failed.startswith("<b>Reload failed</b> after 0.5 s: kept the previous snapshot (10 articles).")
    assert "<i>disk &lt;gone&gt;</i>" in failed
    parse(out)
    parse(failed)


def test_alert_uses_snippet_or_lead_and_lists_reasons() -> None:
    with_lead = messages.alert(article(), None, ["Economy", "rates & <bonds>"])
    assert with_lead == (
        '🔔 <a href="https://news.example/rates">Rates rise again</a>\n'
        "<i>BBC News · 24 Nov 2026</i>\n"
        "The bank raised rates.\n"
        "<i>Matched: Economy, rates &amp; &lt;bonds&gt;</i>"
    )
    with_snippet = messages.alert(article(), Snippet("Markets fell.", ((0, 7),)), [])
    assert with_snippet.endswith("\n<b>Markets</b> fell.")
    parse(with_lead)


def test_digest_lists_several_articles() -> None:
    out = messages.digest([(article("One", id="1"), ["Economy"]), (article("Two", url=None, id="2"), [])])
    blocks = out.split("\n\n")
    assert blocks[0] == "🔔 <b>2 new articles</b>"
    assert blocks[1].startswith("1. <a href") and blocks[1].endswith("<i>Matched: Economy</i>")
    assert blocks[2] == "2. <b>Two</b>\n<i>BBC News · 24 Nov 2026</i>"
    parse(out)


# --- buttons ---------------------------------------------------------------------------------------------


def test_answer_keyboard_lays_out_related_and_more() -> None:
    rows = answer_keyboard([(1, "rel:a1"), (2, "rel:a2")], more="more:q7:3")
    assert rows == (
        (Button("Related 1", callback_data="rel:a1"), Button("Related 2", callback_data="rel:a2")),
        (Button("More results ›", callback_data="more:q7:3"),),
    )
    assert answer_keyboard() == ()


def test_button_validates_callback_data_and_urls() -> None:
    Button("ok", callback_data="é" * 32)  # exactly 64 bytes
    with pytest.raises(ValueError, match="64"):
        Button("too long", callback_data="é" * 33)
    with pytest.raises(ValueError):
        Button("empty", callback_data="")
    with pytest.raises(ValueError):
        Button("both", callback_data="x", url="https://example.org")
    with pytest.raises(ValueError):
        Button("script", url="javascript:alert(1)")
    with pytest.raises(ValueError):
        answer_keyboard([(1, "r" * 65)])
    assert Button("open", url="https://example.org").url == "https://example.org"


# --- lengths -----------------------------------------------------------------------------------------------


def test_utf16_and_visible_length() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("😀") == 2
    assert utf16_len("é") == 1
    assert visible_length("<b>a&amp;b</b> &lt;&gt;&quot; &#128512;&#x41;") == 3 + 1 + 3 + 1 + 2 + 1
    assert visible_length('<a href="https://x.example/?a=1&amp;b=2">go</a>') == 2
    assert visible_length("a < b & c") == 9


# --- splitting -------------------------------------------------------------------------------------------


def long_answer(count: int = 30) -> tuple[str, list[str]]:
    text = " ".join(["the central bank raised interest rates again as inflation stayed high 😀"] * 5)
    hits = [
        Hit(
            article(f"Story {i} <about> rates", id=str(i), url=f"https://news.example/{i}?a=1&b=2"),
            1.0,
            Snippet(text, ((text.index("rates"), text.index("rates") + 5),)),
        )
        for i in range(count)
    ]
    html = answer("rates", hits)
    return html, html.split("\n\n")


def test_split_long_answer_keeps_citations_whole() -> None:
    html, blocks = long_answer()
    assert visible_length(html) > 4096
    parts = split_html(html)
    assert len(parts) >= 2
    for part in parts:
        assert visible_length(part) <= 4096
        assert utf16_len(parse(part)) == visible_length(part)
    # Every paragraph lands whole in exactly one part, in order.
    assert [block for part in parts for block in part.split("\n\n")] == blocks


def test_split_closes_and_reopens_tags_with_attributes() -> None:
    opening = '<a href="https://x.example/?a=1&amp;b=2">'
    html = "<b>Intro</b>\n" + opening + "<i>" + "word " * 300 + "</i></a> tail"
    parts = split_html(html, limit=200)
    assert len(parts) > 5
    for part in parts[1:-1]:
        assert part.startswith(opening + "<i>")
        assert part.endswith("</i></a>")
    for part in parts:
        parse(part)
        assert visible_length(part) <= 200
    assert squash("".join(parse(p) for p in parts)) == squash(parse(html))


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    para = "alpha beta\ngamma delta\n\nepsilon zeta"
    assert split_html(para, limit=30) == ["alpha beta\ngamma delta", "epsilon zeta"]
    lines = "alpha beta\ngamma delta epsilon"
    assert split_html(lines, limit=25) == ["alpha beta", "gamma delta epsilon"]
    words = "alpha beta gamma delta"
    assert split_html(words, limit=12) == ["alpha beta", "gamma delta"]


def test_split_hard_cuts_a_giant_word() -> None:
    parts = split_html("x" * 10_000)
    assert parts == ["x" * 4096, "x" * 4096, "x" * 1808]


def test_split_never_breaks_an_emoji_or_entity_at_the_boundary() -> None:
    parts = split_html("a" * 4095 + "😀" + "b" * 10)
    assert parts == ["a" * 4095, "😀" + "b" * 10]
    family = "👨‍👩‍👧"  # man ZWJ woman ZWJ girl: one picture
    parts = split_html("a" * 4093 + family + "b")
    assert parts == ["a" * 4093, family + "b"]
    parts = split_html("a" * 4095 + "&amp;&lt;" + "b" * 10)
    assert parts == ["a" * 4095 + "&amp;", "&lt;" + "b" * 10]


def test_split_returns_fitting_input_unchanged() -> None:
    assert split_html("<b>short</b>") == ["<b>short</b>"]
    with pytest.raises(ValueError):
        split_html("abc", limit=1)


def test_split_moves_an_opening_tag_to_the_next_part() -> None:
    assert split_html("abcd<b>efgh</b>", limit=4) == ["abcd", "<b>efgh</b>"]


# --- plain-text fallback ----------------------------------------------------------------------------------


def test_html_to_plain_keeps_link_urls() -> None:
    html = (
        '1. <a href="https://e.example/?a=1&amp;b=2">Tom &amp; Jerry</a>\n<i>BBC · 1 Jan 2026</i>\n'
        "<b>cats</b> &lt;3 &#128512;"
    )
    assert html_to_plain(html) == "1. Tom & Jerry (https://e.example/?a=1&b=2)\nBBC · 1 Jan 2026\ncats <3 😀"


def test_html_to_plain_survives_broken_markup() -> None:
    assert html_to_plain("a < b & c <p>x</p><br>") == "a < b & c x"
    assert html_to_plain('<a href="https://x.example">https://x.example</a>') == "https://x.example"


# --- properties ---------------------------------------------------------------------------------------------

any_text = st.text(max_size=120)
urls = st.one_of(
    st.none(),
    st.builds(lambda tail: "https://news.example/" + tail, st.text(max_size=30)),
    st.sampled_from(["javascript:alert(1)", 'http://x.example/"><b>', "data:,x", "https://a.example/?q=<&>"]),
)


@st.composite
def snippets(draw: st.DrawFn) -> Snippet:
    text = draw(any_text)
    bound = st.integers(-5, len(text) + 5)
    return Snippet(text, tuple(draw(st.lists(st.tuples(bound, bound), max_size=6))))


@st.composite
def citations(draw: st.DrawFn) -> str:
    item = Article(
        id="x",
        title=draw(any_text),
        body=draw(any_text),
        source=draw(st.one_of(st.none(), any_text)),
        url=draw(urls),
        published=draw(st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)))),
    )
    return citation(
        item, snippet=draw(st.one_of(st.none(), snippets())), number=draw(st.none() | st.integers(1, 99))
    )


leaves = st.one_of(any_text.map(escape), snippets().map(highlight), citations())
wrapper_tags = st.sampled_from(sorted(ALLOWED_TAGS - {"a"}))
blocks = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda tag, body: f"<{tag}>{body}</{tag}>", wrapper_tags, inner),
        st.lists(inner, min_size=2, max_size=3).map("\n".join),
    ),
    max_leaves=6,
)


@given(any_text)
def test_escape_always_yields_valid_html_of_the_same_text(text: str) -> None:
    assert parse(escape(text)) == text
    assert visible_length(escape(text)) == utf16_len(text)


@given(snippets())
def test_highlight_always_valid_and_keeps_the_text(snippet: Snippet) -> None:
    out = highlight(snippet)
    assert parse(out) == snippet.text
    assert html_to_plain(out) == snippet.text


@given(citations())
def test_citation_always_valid(html: str) -> None:
    assert utf16_len(parse(html)) == visible_length(html)


@settings(max_examples=150)
@given(
    st.lists(blocks, max_size=12),
    st.lists(st.sampled_from(["\n\n", "\n", " ", ""]), max_size=12),
    st.integers(2, 120),
)
def test_split_parts_are_valid_within_limit_and_lossless(
    pieces: list[str], seps: list[str], limit: int
) -> None:
    html = "".join(piece + (seps[i] if i < len(seps) else "\n\n") for i, piece in enumerate(pieces))
    parts = split_html(html, limit)
    if visible_length(html) <= limit:
        assert parts == [html]
    for part in parts if len(parts) > 1 or parts != [html] else []:
        text = parse(part)
        assert utf16_len(text) == visible_length(part) <= limit
        assert text.strip()
    assert squash("".join(parse(part) for part in parts)) == squash(parse(html))


# --- briefs ------------------------------------------------------------------------------------------

BRIEF_UNTIL = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _brief_of(stories: list[list[Article]], *, per_story: int = 2) -> Brief:
    """A brief quoting the first `per_story` sentences of each story's articles, in turn."""
    chosen, items = [], []
    for articles in stories:
        story_id = articles[0].id
        sources = tuple(dict.fromkeys(a.source for a in articles if a.source))
        chosen.append(BriefStory(story_id, articles[0], tuple(articles), sources, 1.0))
        spans = [(a, s, e) for a in articles for s, e in sentence_spans(a.body)]
        items += [BriefItem(a.body[s:e], a, s, e, story_id) for a, s, e in spans[:per_story]]
    return Brief("q", BRIEF_UNTIL - timedelta(days=1), BRIEF_UNTIL, tuple(chosen), tuple(items))


def test_a_brief_quotes_each_sentence_whole_and_escaped_with_its_source_and_link() -> None:
    hostile = article(
        "Bridge <reopens> & more",
        id="bridge",
        source="Gazette & Co",
        url="https://gazette.example/b?a=1&b=2",
        body='The "Tarn" bridge <b>reopened</b> on Monday & traffic flowed. Repairs cost £6m in all.',
    )
    other = article(
        "Tunnel work", id="tunnel", source=None, url=None, body="Work on the tunnel starts in June."
    )
    found = _brief_of([[hostile], [other]])
    html = brief_message(Briefing(found, "Tarn", Topic("tarn", "Tarn")))
    text = parse(html)
    assert text.startswith("Brief: Tarn · the last 24 hours\n2 stories from 1 source")
    for item in found.items:
        assert f"<blockquote>{escape(item.sentence)}</blockquote>" in html
        assert item.sentence in text
    assert '<a href="https://gazette.example/b?a=1&amp;b=2">Gazette &amp; Co</a>' in html
    assert "— <b>Tunnel work</b>" in html  # no source and no link: the title stands for it
    assert text.index("1. Bridge <reopens> & more") < text.index("2. Tunnel work")


def test_a_long_brief_splits_between_stories_under_the_limit() -> None:
    sentence = "Wordy " + " ".join(["considerably"] * 50) + " ends here."
    stories = [
        [article(f"Story {n}", id=f"s{n}", body=" ".join([sentence] * 3), source=f"Source {n}")]
        for n in range(5)
    ]
    html = brief_message(Briefing(_brief_of(stories, per_story=3), "long", None))
    assert visible_length(html) > 4096
    parts = split_html(html)
    assert len(parts) >= 2
    for part in parts:
        assert visible_length(part) <= 4096
        text = parse(part)
        # Each story lands whole in one part: its three quotes are never cut from it.
        assert text.count(sentence) == 3 * len(re.findall(r"^\d\. Story", text, flags=re.MULTILINE)) > 0


def test_an_empty_brief_says_so_and_points_further() -> None:
    topic = Topic("tarn", "Tarn")
    nothing = Brief("tarn", BRIEF_UNTIL - timedelta(days=1), BRIEF_UNTIL, (), ())
    week = _brief_of([[article(id="a"), article(id="b")], [article(id="c")]])
    suggests = brief_message(Briefing(nothing, "Tarn", topic, wider=week, newest=BRIEF_UNTIL))
    assert parse(suggests).startswith("Nothing in the last 24 hours on Tarn.")
    assert "hold 2 stories: <code>/brief tarn 7d</code>" in suggests
    empty_week = Brief("tarn", BRIEF_UNTIL - timedelta(days=7), BRIEF_UNTIL, (), ())
    old = brief_message(
        Briefing(nothing, "Tarn", topic, wider=empty_week, newest=datetime(2026, 3, 24, tzinfo=UTC))
    )
    assert "Nothing in the last 7 days on <b>Tarn</b>." in old
    assert "newest article is from 24 Mar 2026" in old and "<code>/latest tarn</code>" in old
    undated = brief_message(Briefing(empty_week, "<b>x</b> & y", None))
    assert parse(undated).startswith("Nothing in the last 7 days on «<b>x</b> & y».")
    assert "has none yet" in undated and "/search" in undated
