"""The pure parts of sources: the sources file, fetched feeds → entries, canonical URLs and fingerprints,
poll timing, the guard's address rule, and the archive view that adds fetched articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.archive import extend_library
from bot.core.entries import (
    MAX_ENTRIES,
    FeedEntry,
    FeedError,
    canonical_url,
    fetched_article_id,
    fingerprint,
    is_teaser,
    parse_feed_document,
)
from bot.core.library import Library
from bot.core.models import Article
from bot.core.polling import (
    MAX_BACKOFF_SECONDS,
    backoff_seconds,
    cache_lifetime,
    next_after_failure,
    next_after_success,
    retry_after,
    spread,
)
from bot.core.sourcelist import FullText, check_url, parse_sources
from bot.sources.http import address_allowed

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_the_sources_file_with_every_field_and_its_problems() -> None:
    text = """
sources:
  - url: https://news.example.org/feed.xml
    name: Example News
    topics: [OpenAI, ai-standards]
    every: 600
    full_text: always
  - https://bare.example.net/rss
  - url: ftp://old.example.com/feed
  - url: https://fast.example.com/feed
    every: 2
  - url: https://odd.example.com/feed
    full_text: sometimes
  - url: https://news.example.org/feed.xml
  - url: https://typo.example.com/feed
    evry: 60
  - url: https://no.example.com/feed
    full_text: no
"""
    specs, problems = parse_sources(text)
    assert [s.url for s in specs] == [
        "https://news.example.org/feed.xml",
        "https://bare.example.net/rss",
        "https://no.example.com/feed",
    ]
    first = specs[0]
    assert (first.name, first.topics, first.every, first.full_text) == (
        "Example News",
        ("openai", "ai-standards"),
        600.0,
        FullText.ALWAYS,
    )
    assert specs[1].every is None and specs[1].full_text == FullText.AUTO
    assert specs[2].full_text == FullText.NEVER  # YAML reads a bare `no` as false
    reasons = [p.reason for p in problems]
    assert len(reasons) == 5
    assert "only http and https" in reasons[0]
    assert "at least 5" in reasons[1]
    assert "auto, always or never" in reasons[2]
    assert "listed twice" in reasons[3]
    assert "unknown field 'evry'" in reasons[4]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("not: [valid", "not valid YAML"), ("sources: 12", "must hold a `sources:` list")],
)
def test_a_broken_sources_file_is_a_problem(text: str, reason: str) -> None:
    specs, problems = parse_sources(text)
    assert specs == () and reason in problems[0].reason


@pytest.mark.parametrize(
    "url", ["", "javascript:alert(1)", "https://", "https://user:pw@example.org/feed", "https://a b/feed"]
)
def test_urls_that_cannot_be_feeds(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url)


RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Gazette</title><link>https://gazette.example/</link>
<item><title>Ferry returns</title><link>/news/ferry?utm_source=rss</link><guid>g-1</guid>
<pubDate>Mon, 02 Mar 2026 09:30:00 +0100</pubDate>
<description>&lt;p&gt;The ferry is &lt;b&gt;back&lt;/b&gt;.&lt;/p&gt;</description>
<category>Transport</category></item>
<item><link>https://gazette.example/news/no-title</link>
<description>Only a line of text and no title at all here.</description></item>
<item><title>Bad date</title><guid>g-3</guid><pubDate>the thirty-first of never</pubDate>
<description>Text.</description></item>
<item><title></title><description></description></item>
<item><title>Sneaky</title><link>javascript:alert(1)</link><guid>g-5</guid><description>Text.</description></item>
</channel></rss>"""


def test_rss_entries_with_what_real_feeds_get_wrong() -> None:
    document = parse_feed_document(RSS, url="https://gazette.example/feed.xml")
    assert document.title == "Gazette" and document.format == "rss20"
    ferry, untitled, bad_date, sneaky = document.entries
    assert ferry.key == "g-1" and ferry.text == "The ferry is back."
    assert ferry.url == "https://gazette.example/news/ferry?utm_source=rss"
    assert ferry.published == datetime(2026, 3, 2, 8, 30, tzinfo=UTC) and ferry.tags == ("Transport",)
    assert (
        untitled.title.startswith("Only a line of text")
        and untitled.key == "https://gazette.example/news/no-title"
    )
    assert bad_date.published is None
    assert sneaky.url is None
    assert document.problems == ("entry 4: no title and no text",)


def test_json_feed_items() -> None:
    data = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "Wire",
      "items": [{"id": 7, "url": "/a", "title": "A", "content_html": "<p>One.</p><p>Two.</p>",
                 "date_published": "2026-03-02T10:00:00Z", "authors": [{"name": "Ana"}], "tags": ["x"]},
                {"id": "b", "content_text": "Text only, no title."}, 12]}"""
    document = parse_feed_document(data, url="https://wire.example/feed.json")
    first, second = document.entries
    assert (first.key, first.url, first.text, first.author, first.tags) == (
        "7",
        "https://wire.example/a",
        "One.\n\nTwo.",
        "Ana",
        ("x",),
    )
    assert first.published == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert second.title == "Text only, no title." and document.problems == ("item 3: not an object",)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html><body>hello</body></html>", "not an RSS, Atom or JSON feed"),
        (b'{"items": []}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": ' + b"[" * 50_000, "not valid JSON"),
        (b'{"version": "\xff\xfe"}', "not valid UTF-8"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><rss/>', "entities"),
        ('<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/hosts">]><rss/>'.encode("utf-16-be"), "entities"),
    ],
)
def test_documents_that_are_not_feeds(data: bytes, reason: str) -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed_document(data)
    assert reason in caught.value.reason


def test_a_feed_with_too_many_entries_is_cut() -> None:
    items = "".join(
        f"<item><title>t{i}</title><guid>{i}</guid><description>d</description></item>" for i in range(1200)
    )
    document = parse_feed_document(
        f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
    )
    assert len(document.entries) == MAX_ENTRIES
    assert "200 entries past the first 1000" in document.problems[-1]


def test_canonical_urls_drop_what_does_not_change_the_page() -> None:
    same = {
        canonical_url("HTTPS://News.Example.org:443/a/b?id=3&utm_source=rss&utm_medium=feed#comments"),
        canonical_url("https://news.example.org/a/b?fbclid=XYZ&id=3"),
        canonical_url("https://news.example.org/a/b?id=3&gclid=1&mc_cid=2"),
    }
    assert same == {"https://news.example.org/a/b?id=3"}
    assert canonical_url("http://x.example:8080") == "http://x.example:8080/"
    assert canonical_url("https://x.example/a?b=2&a=1") == "https://x.example/a?a=1&b=2"
    assert canonical_url("https://x.example/a?page=2") != canonical_url("https://x.example/a?page=3")


def test_fingerprints_ignore_case_spacing_and_punctuation_only() -> None:
    assert fingerprint("Ferry returns!", "It is  back.\n\nAll   good") == fingerprint(
        "ferry returns", "It is back all good"
    )
    assert fingerprint("Ferry returns", "It is back") != fingerprint("Ferry returns", "It is not back")


def test_article_ids_are_stable_and_namespaced() -> None:
    one = fetched_article_id("https://a.example/feed", "guid-1")
    assert one == fetched_article_id("https://a.example/feed", "guid-1") and one.startswith("feed-")
    assert one != fetched_article_id("https://b.example/feed", "guid-1")


def test_teasers() -> None:
    short = FeedEntry("k", "Ferry returns", "The ferry is back.")
    assert is_teaser(short, 500) and not is_teaser(short, 10)
    assert is_teaser(FeedEntry("k", "Ferry returns", "Ferry returns."), 5)  # nothing past the title


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after("120", NOW) == 120
    assert retry_after("Mon, 02 Mar 2026 12:10:00 GMT", NOW) == 600
    assert retry_after("Mon, 02 Mar 2026 11:00:00 GMT", NOW) == 0
    assert retry_after("soon", NOW) is None and retry_after(None, NOW) is None
    assert retry_after("99999999", NOW) == 24 * 3600


def test_cache_lifetime() -> None:
    assert cache_lifetime({"cache-control": "public, max-age=900"}, NOW) == 900
    assert cache_lifetime({"cache-control": "max-age=900, s-maxage=60"}, NOW) == 60
    assert cache_lifetime({"cache-control": "no-cache, max-age=900"}, NOW) is None
    expires = {"expires": "Mon, 02 Mar 2026 13:00:00 GMT", "date": "Mon, 02 Mar 2026 12:30:00 GMT"}
    assert cache_lifetime(expires, NOW) == 1800
    assert cache_lifetime({"expires": "0"}, NOW) is None
    assert cache_lifetime({"cache-control": "max-age=99999999"}, NOW) == 24 * 3600


def test_backoff_doubles_up_to_a_cap_and_never_undercuts_retry_after() -> None:
    assert [backoff_seconds(60, n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff_seconds(60, 30) == MAX_BACKOFF_SECONDS
    assert backoff_seconds(86400, 5) == 86400  # an interval longer than the cap stays the interval
    later = next_after_failure(NOW, "https://a.example/feed", 60, 1, retry_after_seconds=3600)
    assert later >= NOW + timedelta(seconds=3600)
    soon = next_after_failure(NOW, "https://a.example/feed", 60, 1)
    assert NOW + timedelta(seconds=60) <= soon <= NOW + timedelta(seconds=66)


def test_polls_spread_out_and_respect_caching() -> None:
    offsets = {round(spread(f"https://feed{i}.example/rss"), 2) for i in range(200)}
    assert len(offsets) > 60  # 200 feeds land all over their interval, not in one spot
    assert next_after_success(NOW, "u", 300, cache_seconds=3600) >= NOW + timedelta(seconds=3600)
    assert next_after_success(NOW, "u", 300, cache_seconds=60) >= NOW + timedelta(seconds=300)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.9", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("not an address", False),
    ],
)
def test_which_addresses_the_fetcher_may_use(address: str, allowed: bool) -> None:
    assert address_allowed(address, allow_private=False) is allowed
    assert address_allowed("10.1.2.3", allow_private=True)


def test_extending_a_library_adds_articles_and_leaves_the_base_alone(bundled_library: Library) -> None:
    fresh = Article(
        id="feed-0001",
        title="Glasshouse orchids bloom early",
        body="The orchids in the glasshouse bloomed early.",
        path="https://gazette.example/feed.xml",
        tags=("openai",),
    )
    clash = Article(
        id=bundled_library.articles[0].id, title="Clash", body="Other text.", path="https://x/feed"
    )
    extended = extend_library(bundled_library, [fresh, clash])
    assert extended.article_count == bundled_library.article_count + 1
    assert extended.article("feed-0001") == fresh and bundled_library.article("feed-0001") is None
    assert [h.article.id for h in extended.search("orchids glasshouse").hits] == ["feed-0001"]
    assert any("is taken by" in p.reason for p in extended.problems)
    assert extended.fingerprint == bundled_library.fingerprint
    position = extended.position("feed-0001")
    assert position is not None and "openai" in extended.article_topics[position]
    assert extend_library(bundled_library, []) is bundled_library
