"""Fetching sources over real HTTP from a local site (tests/website.py) into a real SQLite store: polite
requests, full text, deduplication, failures, pauses and hostile responses.

Everything the fetcher does is real (aiohttp over 127.0.0.1, feedparser, trafilatura, SQLite); the site
records what it was asked.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.core.archive import extend_library
from bot.core.library import Library
from bot.settings import Settings
from bot.sources import Poller, WebClient
from bot.store import PollStatus, Store, TextFrom
from tests.website import Story, Website, article_page, atom, endless, json_feed, rss

FERRY = Story(
    guid="gazette-ferry-2026",
    title="Harbour ferry returns after winter repairs",
    teaser="The blue-hulled ferry to Gull Island is running again.",
    paragraphs=(
        "The blue-hulled ferry that links the old harbour with Gull Island made its first crossing of the "
        "year on Tuesday, carrying forty-two passengers and a crate of quillwort seedlings for the island "
        "school's pond.",
        "Engineers spent eleven weeks replacing the propeller shaft after a November storm bent it against "
        "the breakwater. The repairs cost the council a little over ninety thousand pounds, more than the "
        "harbour committee had set aside.",
        "Captain Idris Penhallow said the vessel now runs quieter than it has in a decade. Timetables for "
        "the spring, with two extra sailings on Saturdays, are posted at the harbour office.",
    ),
    link="/news/ferry-returns",
)
LIGHTHOUSE = Story(
    guid="gazette-lighthouse-2026",
    title="Volunteers repaint the north lighthouse",
    teaser="Twelve volunteers spent the weekend repainting the north lighthouse in its red and white bands.",
    paragraphs=(
        "Twelve volunteers spent the weekend repainting the north lighthouse in its traditional red and "
        "white bands, using forty litres of marine paint donated by the boatyard.",
        "The tower was last painted eighteen years ago. The trust that looks after it hopes to open the "
        "lantern room to visitors again in the summer.",
        "Scaffolding was ruled out as too costly, so two of the volunteers, both retired riggers, worked "
        "from ropes while the others painted the lower bands from ladders. The keeper's cottage beside the "
        "tower is next on the trust's list.",
    ),
    link="/news/lighthouse-paint",
    full_in_feed=True,
)
ADMINS = [42, 43]
_OPEN: list[Poller] = []


def new_poller(settings: Settings, store: Store, **options: Any) -> Poller:
    """A poller whose parsing workers end with the test."""
    poller = Poller(settings, store, **options)
    _OPEN.append(poller)
    return poller


@pytest.fixture(autouse=True)
def _close_pollers() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
async def site() -> AsyncIterator[Website]:
    website = Website()
    await website.start()
    try:
        yield website
    finally:
        await website.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "db" / "newsbot.sqlite3") as opened:
        yield opened


def make_settings(tmp_path: Path, sources: str, **overrides: Any) -> Settings:
    path = tmp_path / "sources.yaml"
    path.write_text(sources, encoding="utf-8")
    values: dict[str, Any] = {
        "corpus_dir": tmp_path / "corpus",
        "database": tmp_path / "db" / "newsbot.sqlite3",
        "sources_file": path,
        "fetch_private_addresses": True,
        "fetch_every_seconds": 60,
        "admin_ids": ADMINS,
        "fetch_timeout_seconds": 5,
    }
    values.update(overrides)
    return Settings(**values)


async def poll(poller: Poller, store: Store, url: str) -> Any:
    await poller.sync_file()
    source = await store.sources.by_url(url)
    assert source is not None
    return await poller.poll(source)


async def test_second_poll_is_conditional_and_a_304_adds_nothing(
    tmp_path: Path, site: Website, store: Store
) -> None:
    body = rss([LIGHTHOUSE], base=site.base)
    site.feed("/feed.xml", body, etag='"v1"', modified="Mon, 02 Mar 2026 09:30:00 GMT")
    url = site.url("/feed.xml")
    poller = new_poller(make_settings(tmp_path, f"sources:\n  - url: {url}\n"), store)
    first = await poll(poller, store, url)
    assert (first.status, first.new) == (PollStatus.NEW, 1)
    second = await poll(poller, store, url)
    assert (second.status, second.new) == (PollStatus.NOT_MODIFIED, 0)
    first_request, second_request = site.hits("/feed.xml")
    assert "If-None-Match" not in first_request.headers
    assert second_request.headers["If-None-Match"] == '"v1"'
    assert second_request.headers["If-Modified-Since"] == "Mon, 02 Mar 2026 09:30:00 GMT"
    assert "Newsbot" in second_request.headers["User-Agent"]
    assert "gzip" in second_request.headers["Accept-Encoding"]
    articles, _ = await store.sources.articles()
    assert [a.title for a in articles] == [LIGHTHOUSE.title]
    source = await store.sources.by_url(url)
    assert source is not None and source.last_status == "not_modified" and source.failures == 0


async def test_a_teasers_full_text_is_fetched_and_searchable(
    tmp_path: Path, site: Website, store: Store, bundled_library: Library
) -> None:
    site.feed("/feed.xml", rss([FERRY, LIGHTHOUSE], base=site.base))
    site.pages([FERRY, LIGHTHOUSE])
    url = site.url("/feed.xml")
    sources = f"sources:\n  - url: {url}\n    name: Harbour Gazette\n    topics: [openai]\n"
    poller = new_poller(make_settings(tmp_path, sources), store)
    report = await poll(poller, store, url)
    assert report.new == 2
    assert len(site.hits("/news/ferry-returns")) == 1  # the teaser's page was read
    assert site.hits("/news/lighthouse-paint") == []  # the feed carried that one whole
    articles, _ = await store.sources.articles()
    ferry = next(a for a in articles if a.title == FERRY.title)
    assert "quillwort" in ferry.body and "Most read" not in ferry.body and "cookies" not in ferry.body
    assert ferry.source == "Harbour Gazette" and ferry.tags == ("openai",)
    assert await store.sources.article_text_from(ferry.id) == (TextFrom.PAGE, None)
    library = extend_library(bundled_library, articles)
    hits = library.search("quillwort seedlings").hits
    assert [hit.article.id for hit in hits] == [ferry.id]
    assert library.article_count == bundled_library.article_count + 2


@pytest.mark.parametrize("kind", ["rss091", "atom", "json"])
async def test_every_feed_format_is_read(tmp_path: Path, site: Website, store: Store, kind: str) -> None:
    stories = [FERRY, LIGHTHOUSE]
    body = {
        "rss091": rss(stories, base=site.base, version="0.91"),
        "atom": atom(stories, base=site.base),
        "json": json_feed(stories, base=site.base),
    }[kind]
    site.static("/feed", body, content_type="application/feed+json" if kind == "json" else "application/xml")
    site.pages(stories)
    url = site.url("/feed")
    poller = new_poller(make_settings(tmp_path, f"- {url}\n"), store)
    report = await poll(poller, store, url)
    assert (report.status, report.new, report.error) == (PollStatus.NEW, 2, None)
    articles, _ = await store.sources.articles()
    assert {a.title for a in articles} == {FERRY.title, LIGHTHOUSE.title}
    assert all(a.url and a.url.startswith(site.base) for a in articles)
    assert all(a.published == datetime(2026, 3, 2, 9, 30, tzinfo=UTC) for a in articles)


async def test_the_same_entry_is_stored_once(tmp_path: Path, site: Website, store: Store) -> None:
    again = Story(
        guid="gazette-lighthouse-2026",  # same guid, corrected text
        title="Volunteers repaint the north lighthouse (corrected)",
        teaser=LIGHTHOUSE.teaser,
        paragraphs=(*LIGHTHOUSE.paragraphs, "An earlier version gave the wrong number of volunteers."),
        link="/news/lighthouse-paint",
        full_in_feed=True,
    )
    tracked = Story(
        guid="another-guid-same-page",  # same page, reached through tracking parameters
        title="Lighthouse gets a fresh coat",
        teaser="A fresh coat of paint for the lighthouse.",
        paragraphs=("Paint, volunteers and a sunny weekend at the north lighthouse, told another way.",) * 3,
        link="/news/lighthouse-paint?utm_source=rss&utm_medium=feed&fbclid=abc123",
        full_in_feed=True,
    )
    url = site.url("/feed.xml")
    site.feed("/feed.xml", rss([LIGHTHOUSE], base=site.base), etag='"1"')
    poller = new_poller(make_settings(tmp_path, f"- {url}\n"), store)
    assert (await poll(poller, store, url)).new == 1
    site.feed("/feed.xml", rss([again, tracked, LIGHTHOUSE], base=site.base), etag='"2"')
    report = await poll(poller, store, url)
    assert (report.status, report.new) == (PollStatus.NEW, 0)
    articles, _ = await store.sources.articles()
    assert [a.title for a in articles] == [LIGHTHOUSE.title]


async def test_retry_after_delays_the_next_poll(tmp_path: Path, site: Website, store: Store) -> None:
    site.static(
        "/feed.xml", "slow down", status=429, headers={"Retry-After": "900"}, content_type="text/plain"
    )
    url = site.url("/feed.xml")
    poller = new_poller(make_settings(tmp_path, f"- url: {url}\n  every: 10\n"), store)
    before = datetime.now(UTC)
    report = await poll(poller, store, url)
    assert (
        report.status == PollStatus.FAILED and "429" in (report.error or "") and "900" in (report.error or "")
    )
    source = await store.sources.by_url(url)
    assert source is not None and source.next_poll_at is not None
    assert source.next_poll_at >= before + timedelta(seconds=900)
    assert await store.sources.due(before + timedelta(seconds=899)) == []
    assert [s.url for s in await store.sources.due(before + timedelta(seconds=1800))] == [url]


async def test_caching_headers_push_the_next_poll_back(tmp_path: Path, site: Website, store: Store) -> None:
    site.static(
        "/feed.xml", rss([LIGHTHOUSE], base=site.base), headers={"Cache-Control": "public, max-age=3600"}
    )
    url = site.url("/feed.xml")
    poller = new_poller(make_settings(tmp_path, f"- url: {url}\n  every: 10\n"), store)
    before = datetime.now(UTC)
    await poll(poller, store, url)
    source = await store.sources.by_url(url)
    assert source is not None and source.next_poll_at is not None
    assert source.next_poll_at >= before + timedelta(seconds=3600)


async def test_a_failing_source_backs_off_then_pauses_and_admins_are_told_once(
    tmp_path: Path, site: Website, store: Store
) -> None:
    site.static("/broken.xml", "upstream exploded", status=500, content_type="text/plain")
    url = site.url("/broken.xml")
    poller = new_poller(make_settings(tmp_path, f"- url: {url}\n  every: 10\n", fetch_max_failures=3), store)
    waits = []
    for _ in range(3):
        before = datetime.now(UTC)
        report = await poll(poller, store, url)
        source = await store.sources.by_url(url)
        assert source is not None and source.next_poll_at is not None
        waits.append((source.next_poll_at - before).total_seconds())
        assert report.status == PollStatus.FAILED and "HTTP 500" in (report.error or "")
    assert waits[0] >= 10 and waits[1] >= 20 and waits[2] >= 40  # 10 s doubling, plus jitter
    assert report.paused_now
    source = await store.sources.by_url(url)
    assert (
        source is not None
        and source.paused
        and source.failures == 3
        and "HTTP 500" in (source.pause_reason or "")
    )
    notices = await store.sources.pending_notices()
    assert sorted(n.admin_id for n in notices) == ADMINS and all("HTTP 500" in n.reason for n in notices)
    assert await store.sources.due(datetime.now(UTC) + timedelta(days=2)) == []
    assert (await poller.poll_all())[0].status == PollStatus.PAUSED
    assert len(site.hits("/broken.xml")) == 3
    assert len(await store.sources.pending_notices()) == 2  # no second notice for the same pause
    assert await store.sources.resume(source.id)
    resumed = await store.sources.by_url(url)
    assert resumed is not None and not resumed.paused and resumed.failures == 0


async def test_an_xml_bomb_is_refused_and_nothing_else_is_lost(
    tmp_path: Path, site: Website, store: Store
) -> None:
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "ha">{laughs}]>'
        '<rss version="2.0"><channel><title>Bomb</title><item><title>&l9;</title><guid>b</guid>'
        "<description>&l9;</description></item></channel></rss>"
    )
    external = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>Peek</title><item><title>&secret;</title><guid>p</guid>'
        "<description>x</description></item></channel></rss>"
    )
    site.static("/good.xml", rss([LIGHTHOUSE], base=site.base))
    site.static("/bomb.xml", bomb)
    site.static("/peek.xml", external.encode("utf-16"), content_type="application/xml")
    urls = [site.url(p) for p in ("/good.xml", "/bomb.xml", "/peek.xml")]
    poller = new_poller(make_settings(tmp_path, "".join(f"- {u}\n" for u in urls)), store)
    reports = {r.url: r for r in await poller.poll_all()}
    assert reports[urls[0]].new == 1
    for url in urls[1:]:
        assert reports[url].status == PollStatus.FAILED and "entities" in (reports[url].error or "")
    articles, _ = await store.sources.articles()
    assert [a.title for a in articles] == [LIGHTHOUSE.title]


async def test_a_50_mb_response_is_cut_at_the_cap(tmp_path: Path, site: Website, store: Store) -> None:
    site.serve("/huge.xml", endless)
    zeros = gzip.compress(b"<!--" + b" " * (50 << 20) + b"-->")

    async def bomb(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=zeros, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
        )

    site.serve("/zip.xml", bomb)
    site.static("/good.xml", rss([LIGHTHOUSE], base=site.base))
    urls = [site.url(p) for p in ("/huge.xml", "/zip.xml", "/good.xml")]
    poller = new_poller(make_settings(tmp_path, "".join(f"- {u}\n" for u in urls), fetch_max_mb=1), store)
    reports = {r.url: r for r in await poller.poll_all()}
    for url in urls[:2]:
        assert reports[url].status == PollStatus.FAILED
        assert "limit" in (reports[url].error or "")
    assert reports[urls[2]].new == 1


async def test_private_addresses_are_refused_at_every_hop(
    tmp_path: Path, site: Website, store: Store
) -> None:
    inside = Website()  # an internal service the feed tries to send us to
    await inside.start()
    try:
        inside.static("/admin", rss([LIGHTHOUSE], base=inside.base))
        site.static("/to-ip.xml", "", status=302, headers={"Location": inside.url("/admin")})
        site.static(
            "/to-name.xml", "", status=307, headers={"Location": f"http://localhost:{inside.port}/admin"}
        )
        urls = [site.url("/to-ip.xml"), site.url("/to-name.xml"), inside.url("/admin")]
        settings = make_settings(tmp_path, "".join(f"- {u}\n" for u in urls), fetch_private_addresses=False)

        def client() -> WebClient:  # the site itself is let through, as a public site would be
            return WebClient(timeout=5, allow_private=False, exceptions=frozenset({site.endpoint}))

        reports = {r.url: r for r in await new_poller(settings, store, client=client).poll_all()}
        for url in urls:
            assert reports[url].status == PollStatus.FAILED, url
            assert "private" in (reports[url].error or ""), reports[url].error
        assert inside.requests == []  # nothing ever reached the internal service
        assert len(site.requests) == 2
    finally:
        await inside.stop()


async def test_only_http_and_https_are_fetched(tmp_path: Path, site: Website, store: Store) -> None:
    site.static("/to-file.xml", "", status=301, headers={"Location": "file:///etc/passwd"})
    url = site.url("/to-file.xml")
    report = await poll(new_poller(make_settings(tmp_path, f"- {url}\n"), store), store, url)
    assert report.status == PollStatus.FAILED and "only http and https" in (report.error or "")


async def test_a_page_in_the_wrong_encoding_is_read_and_reported(
    tmp_path: Path, site: Website, store: Store
) -> None:
    cafe = Story(
        guid="cafe",
        title="Café on the quay reopens",
        teaser="The café on the quay has reopened.",
        paragraphs=(
            "The café on the quay reopened on Friday after a winter of renovation, with a new terrace facing "
            "the moorings and a menu that leans on crab from the morning boats.",
            "Its owner, Noémie Trelawny, said the crème brûlée stays: regulars threatened to boycott the "
            "place when a rumour said it would go. Opening hours are eight until six, every day but Monday.",
        ),
        link="/news/cafe",
    )
    page = article_page(cafe).replace('<meta charset="utf-8">', "")
    site.static("/news/cafe", page.encode("cp1252"), content_type="text/html; charset=utf-8")
    site.static("/feed.xml", rss([cafe], base=site.base))
    url = site.url("/feed.xml")
    report = await poll(new_poller(make_settings(tmp_path, f"- {url}\n"), store), store, url)
    assert report.new == 1
    [article], _ = await store.sources.articles()
    text_from, note = await store.sources.article_text_from(article.id) or (None, None)
    assert text_from == TextFrom.PAGE
    assert note is not None and "utf-8" in note and "read as" in note
    assert "crème brûlée" in article.body


async def test_a_page_that_is_not_the_article_keeps_the_teaser(
    tmp_path: Path, site: Website, store: Store
) -> None:
    story = Story(
        guid="consent",
        title="Marina parking fees to rise in April",
        teaser="Parking at the marina will cost more from April, the harbour committee decided on Monday.",
        link="/news/parking",
    )
    wall = (
        "<html><body><h1>Before you continue</h1>"
        + "<p>We and our partners use cookies.</p>" * 30
        + "</body></html>"
    )
    site.static("/news/parking", wall, content_type="text/html")
    site.static("/feed.xml", rss([story], base=site.base))
    url = site.url("/feed.xml")
    report = await poll(new_poller(make_settings(tmp_path, f"- {url}\n"), store), store, url)
    assert report.new == 1 and any("teasers were kept" in note for note in report.notes)
    [article], _ = await store.sources.articles()
    assert article.body == story.teaser
    text_from, note = await store.sources.article_text_from(article.id) or (None, None)
    assert text_from == TextFrom.TEASER and note is not None and "page" in note


async def test_a_malformed_feed_is_a_reported_problem(tmp_path: Path, site: Website, store: Store) -> None:
    site.static("/html.xml", "<html><body>Not a feed at all</body></html>", content_type="text/html")
    site.static(
        "/json.xml",
        '{"version": "https://jsonfeed.org/version/1", "items": ' + "[" * 100_000,
        content_type="application/json",
    )
    site.static("/bytes.xml", bytes(range(256)) * 100, content_type="application/octet-stream")
    urls = [site.url(p) for p in ("/html.xml", "/json.xml", "/bytes.xml")]
    settings = make_settings(tmp_path, "".join(f"- {u}\n" for u in urls))
    reports = await new_poller(settings, store).poll_all()
    assert [r.status for r in reports] == [PollStatus.FAILED] * 3
    assert all(r.error for r in reports)
    source = await store.sources.by_url(urls[0])
    assert source is not None and source.failures == 1 and source.last_error == reports[0].error


async def test_a_sources_first_poll_is_its_backlog_and_later_entries_are_new(
    tmp_path: Path, site: Website, store: Store
) -> None:
    url = site.url("/feed.xml")
    site.feed("/feed.xml", rss([LIGHTHOUSE], base=site.base), etag='"a"')
    site.pages([FERRY])
    poller = new_poller(make_settings(tmp_path, f"- {url}\n"), store)
    await poll(poller, store, url)
    [backlog], _ = await store.sources.articles()
    site.feed("/feed.xml", rss([FERRY, LIGHTHOUSE], base=site.base), etag='"b"')
    await poll(poller, store, url)
    articles, last = await store.sources.articles()
    fresh = next(a for a in articles if a.title == FERRY.title)
    result = await store.ingest_articles([backlog.id, fresh.id], lambda ids, subs: [])
    assert result.new_ids == [fresh.id]  # the backlog was recorded as seen when it was stored
    assert (await store.sources.articles(after=last))[0] == []


async def test_retention_drops_old_text_but_remembers_the_entry(
    tmp_path: Path, site: Website, store: Store
) -> None:
    site.static("/feed.xml", rss([LIGHTHOUSE], base=site.base))
    url = site.url("/feed.xml")
    poller = new_poller(make_settings(tmp_path, f"- {url}\n", fetch_retention_days=30), store)
    assert (await poll(poller, store, url)).new == 1
    assert await store.sources.expire(datetime.now(UTC) - timedelta(days=30)) == 0  # fetched just now
    assert await store.sources.expire(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert (await store.sources.articles())[0] == []  # out of the archive…
    report = await poll(poller, store, url)
    assert (report.status, report.new) == (PollStatus.NEW, 0)  # …and not brought back by the feed


async def test_a_feed_that_would_take_minutes_to_parse_is_stopped(
    tmp_path: Path, site: Website, store: Store
) -> None:
    # Angle-bracket soup sends feedparser's forgiving parser into minutes of work; the worker is killed.
    site.static("/soup.xml", b"<rss version='2.0'><channel>" + b"<a<b" * 500_000)
    site.static("/good.xml", rss([LIGHTHOUSE], base=site.base))
    urls = [site.url("/soup.xml"), site.url("/good.xml")]
    settings = make_settings(tmp_path, "".join(f"- {u}\n" for u in urls), fetch_timeout_seconds=2)
    reports = {r.url: r for r in await new_poller(settings, store).poll_all()}
    assert reports[urls[0]].status == PollStatus.FAILED
    assert "took longer than 2 s" in (reports[urls[0]].error or "")
    assert reports[urls[1]].new == 1
