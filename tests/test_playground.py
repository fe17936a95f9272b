"""The playground without a browser: its command line, its HTTP API and event stream, and the article form.

A real session runs in the test's event loop (stand-in, real bot, page server on a free port); requests
go over HTTP to 127.0.0.1 as the page's would.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli import build_parser
from bot.core.corpus import load_corpus
from bot.core.interests import AlertStatus
from bot.core.models import Article
from bot.core.stories import REWRITE_SCORE, Reason, StoryIndex
from bot.playground import Playground, bind_warning, is_loopback, run_playground, running_playground
from bot.playground.articles import ArticleError, NewArticle, parse_topics, slugify, write_article
from bot.playground.demofeed import (
    EVENT_REPORTS,
    FOLLOW_SECONDS,
    STORIES,
    DemoFeed,
    DemoStory,
    TwoSourceEvent,
)
from bot.playground.scene import GROUP_ID, READER_ID, SECOND_MEMBER_ID
from bot.playground.server import STATIC_FILES
from bot.runtime import load_configured_library
from bot.settings import Settings
from bot.sources.extract import extract_article
from bot.standin import EventKind
from tests.conftest import CORPUS, REPO
from tests.harness import sqlite_file

STATIC = REPO / "bot" / "playground" / "static"
# The second report of the two-source event follows the bot's read of the first this much later (the
# playground's default, FOLLOW_SECONDS, is 10 s): still ample time for the first alert to go out first.
FOLLOW_TEST_SECONDS = 2.0


def playground_settings(**values: Any) -> Settings:
    """Settings as the CLI would build them, ignoring any .env in the working directory."""
    values.setdefault("corpus_dir", CORPUS)
    values.setdefault("log_level", "WARNING")
    values.setdefault("typing_after_seconds", 0)  # "typing…" before every answer, not only slow ones
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Playground]:
    async with running_playground(
        playground_settings(admin_ids=[4242]),
        load_configured_library,
        port=0,
        scratch=tmp_path,
        follow_seconds=FOLLOW_TEST_SECONDS,
    ) as playground:
        yield playground


@pytest.fixture
async def client(session: Playground) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=session.url) as http:
        yield http


async def post(http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with http.post(path, json=body) as response:
        return response.status, await response.json()


class EventStream:
    """The page's server-sent events, read as the page reads them."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, wanted: str, predicate: Any = None) -> dict[str, Any]:
        """The next event of type `wanted` (matching predicate), skipping others; 10 s at most."""

        async def read() -> dict[str, Any]:
            while True:
                line = (await self.response.content.readline()).decode()
                if not line.startswith("data: "):
                    continue
                event: dict[str, Any] = json.loads(line[len("data: ") :])
                if event["type"] == wanted and (predicate is None or predicate(event)):
                    return event

        return await asyncio.wait_for(read(), 10)


# --------------------------------------------------------------------------- command line and binding


def test_cli_playground_options() -> None:
    args = build_parser().parse_args(["playground"])
    assert (args.port, args.host, args.corpus) == (8080, None, None)
    args = build_parser().parse_args(["playground", "--port", "9000", "--corpus", "news", "--host", "::1"])
    assert (args.port, args.host, args.corpus) == (9000, "::1", Path("news"))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["playground", "--port", "70000"])


def test_only_loopback_binds_without_a_warning() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host) and bind_warning(host) is None
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.org"):
        warning = bind_warning(host)
        assert warning is not None and host in warning and "anyone" in warning


def test_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out, err = io.StringIO(), io.StringIO()
        code = run_playground(playground_settings(), load_configured_library, port=port, out=out, err=err)
    assert code == 1
    assert f"cannot serve the page on 127.0.0.1:{port}" in err.getvalue()
    assert f"--port {port + 1}" in err.getvalue()
    assert out.getvalue() == ""


def test_an_explicit_other_host_is_warned_about() -> None:
    err = io.StringIO()
    # 192.0.2.1 is a documentation address no machine has, so the session stops right after the warning.
    code = run_playground(
        playground_settings(), load_configured_library, host="192.0.2.1", port=0, out=io.StringIO(), err=err
    )
    first, second = err.getvalue().splitlines()[:2]
    assert first.startswith("warning: serving the playground on 192.0.2.1")
    assert second.startswith("newsbot: cannot serve the page on 192.0.2.1:0")
    assert code == 1


# --------------------------------------------------------------------------- the session


async def test_session_uses_a_copy_of_the_bundled_corpus_and_a_scratch_database(
    session: Playground, tmp_path: Path
) -> None:
    assert session.corpus_copied
    assert session.corpus_dir == tmp_path / "corpus"
    assert sorted(p.name for p in session.corpus_dir.glob("*.md")) == sorted(
        p.name for p in CORPUS.glob("*.md")
    )
    assert sqlite_file(session.settings).parent == tmp_path
    assert session.settings.telegram_base_url.startswith("http://127.0.0.1:")
    assert session.scene.admin_id == 4242 and session.settings.admin_ids[0] == 4242
    assert session.url.startswith("http://127.0.0.1:")


async def test_a_named_corpus_is_used_in_place(tmp_path: Path) -> None:
    corpus = tmp_path / "mine"
    shutil.copytree(CORPUS, corpus)
    settings = playground_settings(corpus_dir=corpus)
    async with running_playground(
        settings, load_configured_library, port=0, scratch=tmp_path / "scratch"
    ) as playground:
        assert playground.corpus_dir == corpus and not playground.corpus_copied
        assert playground.scene.admin_id not in (READER_ID, SECOND_MEMBER_ID)


async def test_state_lists_the_three_chats_with_their_menus(client: aiohttp.ClientSession) -> None:
    async with client.get("/api/state") as response:
        state = await response.json()
    chats = {chat["id"]: chat for chat in state["chats"]}
    assert list(chats) == [READER_ID, 4242, GROUP_ID]
    assert [chat["admin"] for chat in chats.values()] == [False, True, False]
    assert [m["name"] for m in chats[GROUP_ID]["members"]] == ["Robin", "Sam"]
    admin_menu = [c["command"] for c in chats[4242]["commands"]]
    reader_menu = [c["command"] for c in chats[READER_ID]["commands"]]
    assert "reload" in admin_menu and "stats" in admin_menu
    assert "reload" not in reader_menu and "search" in reader_menu
    assert {"slug": "openai", "name": "OpenAI"} in state["topics"]
    assert state["articles_dir"].endswith("/corpus/playground")


async def test_question_streams_typing_then_the_formatted_answer(client: aiohttp.ClientSession) -> None:
    async with client.get("/api/events") as response:
        stream = EventStream(response)
        status, sent = await post(
            client,
            "/api/send",
            {"chat_id": READER_ID, "user_id": READER_ID, "text": "How much money was Sora losing every day?"},
        )
        assert status == 200 and sent["message"]["from"]["name"] == "Robin"
        echo = await stream.next("message")
        assert echo["message"]["id"] == sent["message"]["id"]  # the user's own message, live
        typing = await stream.next("action")
        assert (typing["chat_id"], typing["action"]) == (READER_ID, "typing")
        answer = (await stream.next("message", lambda e: e["message"]["from"]["bot"]))["message"]
    assert "OpenAI to close its Sora video app" in answer["text"]
    bold = [
        answer["text"][e["offset"] : e["offset"] + e["length"]]
        for e in answer["entities"]
        if e["type"] == "bold"
    ]
    assert "OpenAI to close its Sora video app after heavy losses" in bold
    assert answer["buttons"] == [[{"text": "Related 1", "data": answer["buttons"][0][0]["data"]}]]


async def test_buttons_replies_and_group_threading(client: aiohttp.ClientSession) -> None:
    async with client.get("/api/events") as response:
        stream = EventStream(response)
        await post(client, "/api/send", {"chat_id": READER_ID, "user_id": READER_ID, "text": "/topics"})
        topics = (await stream.next("message", lambda e: e["message"]["from"]["bot"]))["message"]
        status, _ = await post(
            client,
            "/api/click",
            {"chat_id": READER_ID, "user_id": READER_ID, "message_id": topics["id"], "data": "tsub:openai"},
        )
        assert status == 200
        toast = await stream.next("toast")
        assert toast["chat_id"] == READER_ID and "Subscribed to OpenAI" in toast["text"]
        edited = await stream.next("message", lambda e: e["message"]["id"] == topics["id"])
        assert edited["message"]["edited"]
        assert {"text": "✓ OpenAI", "data": "tsub:openai"} in edited["message"]["buttons"][0]

        _, sent = await post(
            client,
            "/api/send",
            {"chat_id": GROUP_ID, "user_id": SECOND_MEMBER_ID, "text": "anyone following the MCP standard?"},
        )
        push = await stream.next(
            "message", lambda e: e["message"]["chat_id"] == GROUP_ID and e["message"]["from"]["bot"]
        )
    assert push["message"]["text"].startswith("Related stories")
    assert push["message"]["reply_to"]["id"] == sent["message"]["id"]
    assert push["message"]["reply_to"]["name"] == "Sam"


async def test_inline_query_and_pick(client: aiohttp.ClientSession, session: Playground) -> None:
    status, answer = await post(
        client, "/api/inline", {"chat_id": GROUP_ID, "user_id": READER_ID, "query": "Sora losses"}
    )
    assert status == 200
    first = answer["results"][0]
    assert first["title"].startswith("OpenAI to close its Sora")
    status, picked = await post(
        client,
        "/api/inline/pick",
        {"chat_id": GROUP_ID, "user_id": READER_ID, "query_id": answer["query_id"], "result_id": first["id"]},
    )
    assert status == 200
    message = picked["message"]
    assert message["via_bot"] == session.scene.bot_username
    assert message["from"]["id"] == READER_ID
    assert message["text"].startswith("OpenAI to close its Sora video app")
    assert any(e["type"] == "bold" for e in message["entities"])
    async with client.get("/api/state") as response:
        group = next(c for c in (await response.json())["chats"] if c["id"] == GROUP_ID)
    assert [m["via_bot"] for m in group["messages"] if m["id"] == message["id"]] == [
        session.scene.bot_username
    ]
    status, gone = await post(
        client,
        "/api/inline/pick",
        {"chat_id": GROUP_ID, "user_id": READER_ID, "query_id": "nope", "result_id": first["id"]},
    )
    assert status == 404 and "gone" in gone["error"]


async def test_added_article_is_written_and_indexed_by_reload(
    client: aiohttp.ClientSession, session: Playground
) -> None:
    admin = session.scene.admin_id
    status, saved = await post(
        client,
        "/api/articles",
        {"title": "Harbour cranes go electric", "body": "The port replaced its diesel cranes.", "topics": []},
    )
    assert status == 200
    path = Path(saved["path"])
    assert path.parent == session.corpus_dir / "playground"
    assert await asyncio.to_thread(path.is_file)
    assert not (CORPUS / "playground").exists()

    def from_bot(event: dict[str, Any]) -> bool:
        return bool(event["message"]["chat_id"] == admin and event["message"]["from"]["bot"])

    async with client.get("/api/events") as response:
        stream = EventStream(response)
        await post(client, "/api/send", {"chat_id": admin, "user_id": admin, "text": "/reload"})
        report = await stream.next("message", from_bot)
        assert "4 → 5" in report["message"]["text"]
        assert "Harbour cranes go electric" in report["message"]["text"]
        await post(client, "/api/send", {"chat_id": admin, "user_id": admin, "text": "/stats"})
        stats = await stream.next("message", from_bot)
    assert "Uptime" in stats["message"]["text"] and "Articles" in stats["message"]["text"]


async def test_requests_the_page_would_not_make_are_refused(
    client: aiohttp.ClientSession, session: Playground
) -> None:
    cases = [
        ({"chat_id": 1, "user_id": READER_ID, "text": "hi"}, 404),  # no such chat
        ({"chat_id": READER_ID, "user_id": SECOND_MEMBER_ID, "text": "hi"}, 403),  # not in that chat
        ({"chat_id": READER_ID, "user_id": READER_ID, "text": "   "}, 400),
        ({"chat_id": READER_ID, "user_id": READER_ID, "text": "x" * 4097}, 400),
        ({"chat_id": READER_ID, "user_id": READER_ID, "text": "hi", "reply_to": 99999}, 404),
        ({"chat_id": "5550001", "user_id": READER_ID, "text": "hi"}, 400),
    ]
    for body, expected in cases:
        status, answer = await post(client, "/api/send", body)
        assert (status, bool(answer.get("error"))) == (expected, True), body
    status, _ = await post(
        client, "/api/click", {"chat_id": READER_ID, "user_id": READER_ID, "message_id": 99999, "data": "x"}
    )
    assert status == 404
    status, bad = await post(client, "/api/articles", {"title": "", "body": "text"})
    assert status == 400 and bad["error"].startswith("title:")
    status, bad = await post(client, "/api/articles", {"title": "T", "body": "b", "topics": ["Not A Slug!"]})
    assert status == 400 and bad["error"].startswith("topics:")


async def test_other_sites_cannot_drive_the_page(client: aiohttp.ClientSession, session: Playground) -> None:
    # A DNS-rebound name reaching 127.0.0.1 is refused, as is a form post or another origin's script.
    async with client.get(
        "/api/state", headers={"Host": f"attacker.example:{session.server.port}"}
    ) as response:
        assert response.status == 403
    body = {"chat_id": READER_ID, "user_id": READER_ID, "text": "hi"}
    async with client.post("/api/send", data="text=hi", headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 415
    async with client.post("/api/send", json=body, headers={"Origin": "http://attacker.example"}) as response:
        assert response.status == 403
    async with client.post("/api/send", json=body, headers={"Origin": session.url.rstrip("/")}) as response:
        assert response.status == 200


async def test_page_is_self_contained(client: aiohttp.ClientSession) -> None:
    async with client.get("/") as response:
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert references and all(ref.startswith("/static/") for ref in references), references
    for name in STATIC_FILES:
        async with client.get("/" if name == "index.html" else f"/static/{name}") as response:
            assert response.status == 200
            text = await response.text()
        # Nothing fetched from elsewhere: no remote stylesheet, font, script, or request.
        assert "@import" not in text and "url(" not in text and "//cdn" not in text, name
        assert not re.search(r"(fetch|EventSource|XMLHttpRequest|import)\(\s*[\"'`]https?:", text), name
    async with client.get("/static/../session.py") as response:
        assert response.status == 404
    async with client.get("/static/app.py") as response:
        assert response.status == 404


def test_page_never_injects_html() -> None:
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


# --------------------------------------------------------------------------- the article file


def test_written_article_loads_with_its_fields(tmp_path: Path) -> None:
    when = datetime(2026, 3, 24, 9, 30, tzinfo=UTC)
    article = NewArticle(
        'Sora: the "end" of an app', "First paragraph.\n\nSecond one.", ("openai", "ai-video")
    )
    path, article_id = write_article(tmp_path, article, now=when)
    again, second_id = write_article(tmp_path, article, now=when)
    assert path.name == "sora-the-end-of-an-app.md" and again.name == "sora-the-end-of-an-app-2.md"
    assert (article_id, second_id) == (
        "playground-sora-the-end-of-an-app",
        "playground-sora-the-end-of-an-app-2",
    )
    again.unlink()
    corpus = load_corpus(tmp_path)
    assert corpus.problems == ()
    [loaded] = corpus.articles
    assert loaded.id == article_id
    assert loaded.title == 'Sora: the "end" of an app'
    assert loaded.published == when
    assert loaded.source == "Playground"
    assert set(loaded.tags) >= {"openai", "ai-video"}
    assert "Second one." in loaded.body
    assert not list(tmp_path.rglob(".*.partial"))


def test_article_input_is_checked() -> None:
    assert parse_topics("OpenAI, ai-video  openai") == ("openai", "ai-video")
    with pytest.raises(ArticleError, match="topics"):
        parse_topics("open ai!")
    assert slugify("Ünïcode — and *symbols*!") == "unicode-and-symbols"
    assert slugify("!!!") == "article"
    for bad in (NewArticle(" ", "body"), NewArticle("title", "\n "), NewArticle("t" * 201, "body")):
        with pytest.raises(ArticleError):
            write_article(Path("/nonexistent"), bad)


def test_make_run_without_a_token_starts_the_playground_and_says_so() -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    no_token = recipe.split("else", 1)[1]
    cleaned = (line.strip().strip("\\").strip() for line in no_token.splitlines())
    lines = [line for line in cleaned if line]
    assert lines[0].startswith("echo") and "playground" in lines[0]
    assert any("newsbot playground" in line for line in lines[1:])


async def test_a_published_demo_story_is_fetched_searchable_and_alerted(
    client: aiohttp.ClientSession, session: Playground
) -> None:
    from bot.playground.demofeed import BACKLOG

    state = await (await client.get("/api/state")).json()
    assert state["demo_feed"].endswith("/demo/feed.xml") and state["demo_remaining"] == len(STORIES) - BACKLOG
    runtime = session.bot.services.runtime
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not any(a.title == STORIES[0].title for a in runtime.library.articles):  # the backlog's first poll
        assert loop.time() < deadline, "the demo feed was never fetched"
        await asyncio.sleep(0.05)
    [answer] = await session.standin.ask(READER_ID, READER_ID, "checklist for auditing AI models", timeout=10)
    assert STORIES[0].title in answer["text"]
    await session.standin.ask(READER_ID, READER_ID, "/subscribe openai", timeout=10)
    status, published = await post(client, "/api/demo/publish", {})
    assert status == 200 and published["title"] == STORIES[BACKLOG].title
    alert = await session.standin.wait_for(
        lambda event: published["title"] in str(event.data.get("text")), chat_id=READER_ID, timeout=30
    )
    assert alert[0].data["text"].startswith("🔔")
    [answer] = await session.standin.ask(
        READER_ID, READER_ID, "museum archiving clips with prompts", timeout=10
    )
    assert published["title"] in answer["text"]
    for _ in range(len(STORIES) - BACKLOG - 1):
        assert (await post(client, "/api/demo/publish", {}))[0] == 200
    status, refused = await post(client, "/api/demo/publish", {})
    assert status == 409 and "every demo story" in refused["error"]


# --------------------------------------------------------------------------- one event, two sources


def _as_fetched(feed: DemoFeed, story: DemoStory) -> Article:
    """A demo story as the bot stores it: its feed's title and source, its page's extracted text."""
    page = extract_article(
        feed.page(story).encode(), url=feed.base_url + feed.story_path + story.slug, teaser=story.teaser
    )
    return Article(
        id=f"{feed.prefix}/{story.slug}",
        title=story.title,
        body=page.text,
        source=feed.name,
        published=page.published,
    )


def test_the_two_reports_of_the_demo_event_make_one_story() -> None:
    now = datetime.now(UTC)
    wire = DemoFeed(base_url="http://127.0.0.1:8080/")
    wire.start(now)
    while wire.publish(now):
        pass
    event = TwoSourceEvent()
    for feed in event.feeds:
        feed.base_url = wire.base_url
    event.publish_first(now)
    event.publish_second(now + timedelta(seconds=FOLLOW_SECONDS + 4))
    first, second = (_as_fetched(feed, feed.stories[0]) for feed in event.feeds)
    assert first.source != second.source and first.title != second.title
    stories = StoryIndex()
    # Beside everything else the playground holds: the bundled corpus and every wire story.
    stories.add_all(load_corpus(CORPUS).articles)
    assert all(a.is_new for a in stories.add_all(_as_fetched(wire, story) for story in STORIES))
    founded = stories.add(first)
    joined = stories.add(second)
    assert founded.is_new
    # Reworded, not copied: found as a rewrite of the first report, clearly above the bar.
    assert (joined.story_id, joined.reason, joined.matched) == (first.id, Reason.REWRITE, first.id)
    assert joined.similarity >= REWRITE_SCORE + 0.1
    story = stories.story(first.id)
    assert story is not None and story.others(first.id) == (second.source,)


def test_the_second_report_follows_the_bots_read_of_the_first() -> None:
    event = TwoSourceEvent()
    assert not event.ready and not event.started
    event.first.read_at = event.second.read_at = datetime(2026, 3, 1, tzinfo=UTC)
    assert event.ready
    read = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert event.first_read(read) is None  # nothing reported yet: nothing to follow
    assert event.publish_second(read) is None
    assert event.publish_first(read) == EVENT_REPORTS[0]
    assert event.publish_first(read) is None and event.started
    assert event.first_read(read) == read + timedelta(seconds=FOLLOW_SECONDS)
    assert event.first_read(read + timedelta(seconds=5)) is None  # set once, by the first read
    assert event.publish_second(read) == EVENT_REPORTS[1]
    assert event.publish_second(read) is None
    assert [feed.url for feed in event.feeds] == ["/demo/gazette/feed.xml", "/demo/courier/feed.xml"]
    sooner = TwoSourceEvent(follow_seconds=2)  # the tests' shorter wait
    sooner.publish_first(read)
    assert sooner.first_read(read) == read + timedelta(seconds=2)


async def test_two_sources_make_one_alert_that_gains_the_second_source(
    client: aiohttp.ClientSession, session: Playground
) -> None:
    standin = session.standin
    await standin.ask(READER_ID, READER_ID, "/subscribe openai", timeout=10)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:  # the bot reads the two (still empty) feeds once at start-up
        status, published = await post(client, "/api/demo/event", {})
        if status == 200:
            break
        assert status == 409 and "not read" in published["error"], published
        assert loop.time() < deadline, "the bot never read the two demo sites"
        await asyncio.sleep(0.1)
    first, second = EVENT_REPORTS
    assert (published["title"], published["topic"]) == (first.title, "openai")
    assert published["first"] == "Harbour Gazette (demo)" and published["second"] == "Valley Courier (demo)"
    assert published["follow_seconds"] == FOLLOW_TEST_SECONDS
    mark = standin.world.mark()
    [alert] = await standin.wait_for(
        lambda event: first.title in str(event.data.get("text")), chat_id=READER_ID, after=mark, timeout=30
    )
    assert alert.text is not None and "+1 source" not in alert.text
    assert "Harbour Gazette (demo)" in alert.text
    [edit] = await standin.wait_for(kind=EventKind.EDITED, chat_id=READER_ID, after=mark, timeout=30)
    assert edit.message_id == alert.message_id
    current = standin.world.message(READER_ID, alert.message_id or 0)
    assert first.title in current["text"] and "+1 source: Valley Courier (demo)" in current["text"]
    # The second report edits the alert; it never becomes a message of its own. Its ingest (which flagged
    # the edit) queued every alert it was going to, so the reader's outbox holds the first one alone.
    [owed] = await session.bot.services.store.chat_alerts(READER_ID)
    assert (owed.status, owed.message_id) == (AlertStatus.SENT, alert.message_id)
    assert [
        event.message_id for event in standin.world.events(EventKind.SENT, chat_id=READER_ID, after=mark)
    ] == [alert.message_id]
    library = session.bot.services.runtime.library
    assert {a.title for a in library.articles} >= {first.title, second.title}
    status, refused = await post(client, "/api/demo/event", {})
    assert status == 409 and "out already" in refused["error"]
