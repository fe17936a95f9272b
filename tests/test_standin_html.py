"""The stand-in's Telegram HTML parser: supported markup, Telegram's errors, UTF-16 offsets."""

from __future__ import annotations

import pytest

from bot.render.html import utf16_len
from bot.standin.entities import FormattedText, detect_entities, trim, utf16_slice
from bot.standin.html import HtmlParseError, escape, parse_html


def spans(parsed: FormattedText) -> list[tuple[str, str]]:
    """(type, covered text) per entity, in Telegram's order."""
    return [(entity.type, parsed.covered(entity)) for entity in parsed.entities]


@pytest.mark.parametrize(
    ("markup", "kind"),
    [
        ("<b>x</b>", "bold"),
        ("<strong>x</strong>", "bold"),
        ("<i>x</i>", "italic"),
        ("<em>x</em>", "italic"),
        ("<u>x</u>", "underline"),
        ("<ins>x</ins>", "underline"),
        ("<s>x</s>", "strikethrough"),
        ("<strike>x</strike>", "strikethrough"),
        ("<del>x</del>", "strikethrough"),
        ("<tg-spoiler>x</tg-spoiler>", "spoiler"),
        ('<span class="tg-spoiler">x</span>', "spoiler"),
        ("<code>x</code>", "code"),
        ("<pre>x</pre>", "pre"),
        ("<blockquote>x</blockquote>", "blockquote"),
        ("<blockquote expandable>x</blockquote>", "expandable_blockquote"),
        ("<B>x</B>", "bold"),
    ],
)
def test_every_supported_tag_makes_its_entity(markup: str, kind: str) -> None:
    parsed = parse_html(markup)
    assert parsed.text == "x"
    assert spans(parsed) == [(kind, "x")]


def test_links_mentions_and_custom_emoji_carry_their_arguments() -> None:
    parsed = parse_html(
        '<a href="https://example.org/a?b=1&amp;c=2">site</a> '
        '<a href="tg://user?id=42">Ann</a> '
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert parsed.text == "site Ann 👍"
    link, mention, emoji = parsed.entities
    assert (link.type, link.url) == ("text_link", "https://example.org/a?b=1&c=2")
    assert (mention.type, mention.user_id) == ("text_mention", 42)
    assert (emoji.type, emoji.custom_emoji_id, emoji.length) == ("custom_emoji", "5368324170671202286", 2)


def test_pre_with_a_language_code_block_is_one_pre_entity() -> None:
    parsed = parse_html('<pre><code class="language-python">print(1 &lt; 2)</code></pre>')
    assert parsed.text == "print(1 < 2)"
    (entity,) = parsed.entities
    assert (entity.type, entity.language, entity.offset, entity.length) == ("pre", "python", 0, 12)


def test_nesting_keeps_outer_entities_first() -> None:
    parsed = parse_html("<b>bold <i>both <u>all</u></i></b> <blockquote><i>quoted</i></blockquote>")
    assert parsed.text == "bold both all quoted"
    assert spans(parsed) == [
        ("bold", "bold both all"),
        ("italic", "both all"),
        ("underline", "all"),
        ("blockquote", "quoted"),
        ("italic", "quoted"),
    ]


def test_nothing_is_formatted_inside_code() -> None:
    assert spans(parse_html("<code><b>x</b></code>")) == [("code", "x")]
    assert spans(parse_html("<b><code>x</code></b>")) == [("bold", "x"), ("code", "x")]


def test_character_references_are_decoded() -> None:
    parsed = parse_html("&lt;tag&gt; &amp; &quot;q&quot; &#65;&#x42; &#128512;")
    assert parsed.text == '<tag> & "q" AB 😀'
    assert parsed.entities == ()


def test_lone_ampersands_stay_literal() -> None:
    assert parse_html("Q & A, AT&T, R&D.").text == "Q & A, AT&T, R&D."


def test_offsets_and_lengths_count_utf16_units() -> None:
    parsed = parse_html("😀 é <b>𝔘😀x</b> <i>ok</i>")
    assert parsed.text == "😀 é 𝔘😀x ok"
    bold, italic = parsed.entities
    # 😀 and 𝔘 are astral (two units each); é is one.
    assert (bold.offset, bold.length) == (5, 5)
    assert (italic.offset, italic.length) == (11, 2)
    assert parsed.covered(bold) == "𝔘😀x"
    assert utf16_len(parsed.text) == 13


def test_empty_elements_make_no_entity() -> None:
    parsed = parse_html("a<b></b>b")
    assert parsed.text == "ab"
    assert parsed.entities == ()


def test_links_telegram_cannot_use_are_dropped_but_the_text_stays() -> None:
    parsed = parse_html('<a href="javascript:alert(1)">click</a>')
    assert parsed.text == "click"
    assert parsed.entities == ()


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("line<br>", 'Unsupported start tag "br" at byte offset 4'),
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("é <div>", 'Unsupported start tag "div" at byte offset 3'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="x>y</a>', "Unclosed end of attribute value at byte offset 16"),
        ("<b x>y</b>", 'Expected equal sign in declaration of an attribute of the tag "b" at byte offset 0'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("&copy; 2025", 'Unsupported HTML entity "&copy;" at byte offset 0'),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
def test_bad_markup_is_rejected_with_telegrams_reason(markup: str, reason: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(markup)
    assert str(caught.value) == reason


def test_unknown_named_references_are_literal_when_not_strict() -> None:
    assert parse_html("a&nbsp;b", strict=False).text == "a&nbsp;b"


def test_escaped_dynamic_text_always_parses_back_to_itself() -> None:
    hostile = 'A <p> & "quotes" </b> &nbsp; 😀 <script>'
    parsed = parse_html(f"<b>{escape(hostile)}</b>")
    assert parsed.text == hostile
    assert spans(parsed) == [("bold", hostile)]


def test_trim_strips_whitespace_and_clips_entities() -> None:
    parsed = trim(parse_html("  <b> 😀 hi</b>\n\n"))
    assert parsed.text == "😀 hi"
    (bold,) = parsed.entities
    assert (bold.offset, bold.length) == (0, 5)


def test_detect_entities_finds_commands_mentions_hashtags_and_urls() -> None:
    text = "/start@newsbot_test_bot hi @reader see https://example.org/x. #news"
    found = detect_entities(text)
    assert [(e.type, utf16_slice(text, e.offset, e.end)) for e in found.entities] == [
        ("bot_command", "/start@newsbot_test_bot"),
        ("mention", "@reader"),
        ("url", "https://example.org/x"),
        ("hashtag", "#news"),
    ]
