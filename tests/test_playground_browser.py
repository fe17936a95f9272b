"""The playground in a real browser: headless Chromium (Debian's chromium, chromium-driver) under Selenium.

One playground (stand-in, real bot, page) runs in a background thread for the whole module; the tests
talk to it only through the page. Without Chromium they skip, saying how to install it; under CI they fail.
Set UPDATE_PLAYGROUND_SCREENSHOT=1 to refresh docs/playground.png, the README's screenshot.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.playground import Playground, running_playground
from bot.playground.demofeed import EVENT_REPORTS
from bot.playground.scene import GROUP_ID, READER_ID
from bot.runtime import load_configured_library
from bot.settings import Settings
from tests.conftest import CORPUS, REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = (
    "install Chromium and its driver (as root: apt-get install chromium chromium-driver) "
    "and the dev extra (pip install -e '.[dev]', for selenium)"
)
# Offline and quiet: no sync, updates, field trials or first-run pages reaching for the network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,860",
)
WAIT_SECONDS = 15
# How often wait() looks again: Selenium's default (0.5 s) would add up to that much to every step.
RECHECK_SECONDS = 0.1
# The second report of the two-source event follows the bot's read of the first this much later (the
# playground's default is 10 s): still ample time for the first alert to go out first.
FOLLOW_SECONDS = 2.0
SCREENSHOT = REPO / "docs" / "playground.png"


def _require_browser() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    message = f"browser tests need {', '.join(missing)}: {INSTALL_HINT}"
    if os.environ.get("CI"):
        pytest.fail(message)  # .ci/run installs Chromium, so a missing browser there is a real failure
    pytest.skip(message)


class PlaygroundThread:
    """running_playground() in its own thread and event loop, for a synchronous browser driver."""

    def __init__(self, settings: Settings, scratch: Path) -> None:
        self.settings = settings
        self.scratch = scratch
        self.ready = threading.Event()
        self.playground: Playground | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="playground", daemon=True)

    def start(self) -> Playground:
        self._thread.start()
        if not self.ready.wait(60) or self.playground is None:
            raise RuntimeError(f"the playground did not start: {self.error!r}")
        return self.playground

    def stop(self) -> None:
        if self._thread.is_alive() and self._loop is not None and self._done is not None:
            self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported by start()
            self.error = error
            self.ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        async with running_playground(
            self.settings,
            load_configured_library,
            port=0,
            scratch=self.scratch,
            follow_seconds=FOLLOW_SECONDS,
        ) as playground:
            self.playground = playground
            self.ready.set()
            await self._done.wait()


@pytest.fixture(scope="module")
def playground() -> Iterator[Playground]:
    _require_browser()
    scratch = Path(tempfile.mkdtemp(prefix="newsbot-playground-test-"))
    # The watcher is off so that /reload, not a watcher pass racing it, is what indexes the new article;
    # "typing…" is sent before every answer, not only before slow ones. The developer's own NEWSBOT_*
    # variables are left out, as conftest does for every test (its fixture runs only per test).
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NEWSBOT_")]:
            patch.delenv(name)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            corpus_dir=CORPUS,
            log_level="WARNING",
            corpus_poll_seconds=0,
            typing_after_seconds=0,
        )
    runner = PlaygroundThread(settings, scratch)
    try:
        yield runner.start()
    finally:
        try:
            runner.stop()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(playground: Playground) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="newsbot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(playground.url)
        wait(driver, lambda d: d.find_element("id", "connection").get_attribute("data-state") == "live")
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --------------------------------------------------------------------------- page helpers


def wait(driver: Any, condition: Callable[[Any], Any], seconds: float = WAIT_SECONDS) -> Any:
    """Wait until condition(driver) is truthy (re-trying while the page re-renders) and return it."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (StaleElementReferenceException, NoSuchElementException)
    return WebDriverWait(driver, seconds, poll_frequency=RECHECK_SECONDS, ignored_exceptions=ignored).until(
        condition
    )


def open_chat(driver: Any, chat_id: int) -> None:
    """Click a chat in the sidebar and wait until it is the open one."""
    selector = f".chat-item[data-chat-id='{chat_id}']"
    wait(driver, lambda d: d.find_element("css selector", selector).click() or True)
    wait(driver, lambda d: "active" in d.find_element("css selector", selector).get_attribute("class"))


def message_ids(driver: Any) -> list[int]:
    """The ids of the messages shown in the open chat, in order."""
    ids = driver.execute_script(
        "return [...document.querySelectorAll('#messages .msg')].map(n => Number(n.dataset.id))"
    )
    return [int(value) for value in ids]


def type_and_send(driver: Any, text: str) -> int:
    """Type into the message box and press Enter; returns the highest message id shown before."""
    from selenium.webdriver.common.keys import Keys

    before = max(message_ids(driver), default=0)
    box = driver.find_element("id", "input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    return before


def bot_message(driver: Any, after: int, containing: str, seconds: float = WAIT_SECONDS) -> str:
    """Wait for a bot message newer than `after` whose text contains `containing`; returns its node id.

    Nodes are looked up again by id whenever they are used: an edited message gets a new node.
    """

    def find(d: Any) -> Any:
        for node in d.find_elements("css selector", "#messages .msg[data-from='bot']"):
            if int(node.get_attribute("data-id")) > after and containing in node.text:
                return node.get_attribute("id")
        return False

    return str(wait(driver, find, seconds))


def node(driver: Any, node_id: str) -> Any:
    """The element of a message node, looked up now."""
    return driver.find_element("id", node_id)


def buttons(driver: Any, node_id: str) -> list[str]:
    """The labels of a message's inline buttons."""
    return [b.text for b in driver.find_elements("css selector", f"#{node_id} .keyboard button")]


def press(driver: Any, node_id: str, label: str) -> None:
    """Press the inline button with this label under a message."""
    found = driver.find_elements("css selector", f"#{node_id} .keyboard button")
    [button] = [b for b in found if b.text == label]
    button.click()


# --------------------------------------------------------------------------- tests


def test_screenshot_of_a_cited_answer(playground: Playground, browser: Any, tmp_path: Path) -> None:
    """Also the README's picture: a question and its cited answer, the matched words in bold.

    (No related-story push follows: the answer already shows the one story about it, and pushes only
    offer stories that pass the relevance rule.)
    """
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    open_chat(browser, READER_ID)
    question = "How much money was Sora losing every day?"
    before = type_and_send(browser, question)
    answer = bot_message(browser, before, "OpenAI to close its Sora video app")
    assert "$1 million" in node(browser, answer).text
    assert node(browser, answer).find_elements(By.CSS_SELECTOR, ".text b")

    shot = tmp_path / "playground.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("UPDATE_PLAYGROUND_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_question_gets_cited_results_more_results_and_related(playground: Playground, browser: Any) -> None:
    open_chat(browser, READER_ID)
    # "typing…" shows only while the bot works (milliseconds here), so record every header status.
    browser.execute_script(
        """
        window.statusSeen = [];
        const status = document.getElementById("chat-status");
        new MutationObserver((records) => records.forEach((record) =>
          record.addedNodes.forEach((node) => window.statusSeen.push(node.textContent))
        )).observe(status, {childList: true});
        """
    )
    before = type_and_send(browser, "How much money was Sora losing every day?")
    answer = bot_message(browser, before, "OpenAI to close its Sora video app")
    seen = browser.execute_script("return window.statusSeen")
    assert "typing…" in seen
    assert seen[-1] == f"bot · @{playground.scene.bot_username}"  # and it goes away with the answer
    assert "$1 million" in node(browser, answer).text
    bold = [b.text.lower() for b in node(browser, answer).find_elements("css selector", ".text b")]
    assert any(word.startswith("sora") for word in bold), bold  # matched words rendered in bold
    # The user's own question sits on the right, the answer on the left.
    outgoing = browser.find_elements("css selector", "#messages .msg.out")
    ids = [int(n.get_attribute("data-id")) for n in outgoing if "Sora losing" in n.text]
    [question] = [number for number in ids if number > before]
    assert question < int(node(browser, answer).get_attribute("data-id"))

    before = type_and_send(browser, "OpenAI")
    page_one = bot_message(browser, before, "Results 1–3 of 3")
    assert buttons(browser, page_one) == ["Related 1", "Related 2", "Related 3"]
    press(browser, page_one, "Related 1")
    bot_message(browser, before, "Related to")


def test_subscribe_by_button_then_an_added_article_alerts_the_reader(
    playground: Playground, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    open_chat(browser, READER_ID)
    before = type_and_send(browser, "/topics")
    topics = bot_message(browser, before, "OpenAI")
    press(browser, topics, "+ OpenAI")
    wait(browser, lambda d: "Subscribed to OpenAI" in d.find_element(By.ID, "toast").text)
    # The bot edits the keyboard: the toggle now shows the subscription.
    wait(browser, lambda d: "✓ OpenAI" in buttons(d, topics))

    open_chat(browser, playground.scene.admin_id)
    browser.find_element(By.ID, "article-open").click()
    form = wait(browser, lambda d: d.find_element(By.ID, "article-form"))
    title = "OpenAI opens a newsroom lab in Lisbon"
    form.find_element(By.NAME, "title").send_keys(title)
    form.find_element(By.CSS_SELECTOR, "input[name=topic][value=openai]").click()
    form.find_element(By.NAME, "body").send_keys("The lab will test AI tools for reporters.")
    browser.find_element(By.ID, "article-save").click()
    note = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#messages .service.note"))
    assert "Send /reload" in note.text
    written = playground.corpus_dir / "playground" / "openai-opens-a-newsroom-lab-in-lisbon.md"
    assert written.is_file() and title in written.read_text(encoding="utf-8")
    assert not (CORPUS / "playground").exists()  # the bundled corpus is never written to

    before = type_and_send(browser, "/reload")
    report = bot_message(browser, before, "Added: 1")  # the demo feed's stories count too: not "4 → 5"
    assert title in node(browser, report).text

    # The alert arrives live in the reader's chat, marked unread in the sidebar.
    badge = f".chat-item[data-chat-id='{READER_ID}'] .badge"
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, badge).text.isdigit())
    open_chat(browser, READER_ID)
    alert = bot_message(browser, 0, f"{title}")
    assert buttons(browser, alert) == ["Related", "Unsubscribe"]


def test_group_member_mentions_a_topic_and_gets_a_threaded_push(playground: Playground, browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_chat(browser, GROUP_ID)
    Select(browser.find_element(By.ID, "speaker")).select_by_visible_text("Sam")
    text = "has anyone tried the Codex Sites preview yet?"
    before = type_and_send(browser, text)
    push = bot_message(browser, before, "Related stories")
    quote = node(browser, push).find_element(By.CSS_SELECTOR, ".quote")
    assert "Sam" in quote.text and text in quote.text  # threaded to the message it answers
    assert node(browser, push).find_element(By.CSS_SELECTOR, ".sender").text == "Newsbot"
    # Speaking as Robin now, Sam's message shows on the left with his name.
    Select(browser.find_element(By.ID, "speaker")).select_by_visible_text("Robin")
    [sams] = [
        n
        for n in browser.find_elements(By.CSS_SELECTOR, "#messages .msg.in[data-from=user]")
        if text in n.text
    ]
    assert sams.find_element(By.CSS_SELECTOR, ".sender").text == "Sam"

    # Robin replies to the push (double-click a message to reply); a reply to the bot is a question to it.
    ActionChains(browser).double_click(node(browser, push).find_element(By.CSS_SELECTOR, ".bubble")).perform()
    wait(browser, lambda d: "Reply to Newsbot" in d.find_element(By.ID, "reply-bar").text)
    question = "and how much was Sora losing a day?"
    before = type_and_send(browser, question)
    answer = bot_message(browser, before, "OpenAI to close its Sora video app")
    assert node(browser, answer).find_element(By.CSS_SELECTOR, ".quote").text.endswith(question)
    [mine] = [n for n in browser.find_elements(By.CSS_SELECTOR, "#messages .msg.out") if question in n.text]
    assert mine.find_element(By.CSS_SELECTOR, ".quote strong").text == "Newsbot"


def test_inline_query_shows_a_pick_list_and_posts_the_choice(playground: Playground, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    open_chat(browser, GROUP_ID)
    before = max(message_ids(browser), default=0)
    browser.find_element(By.ID, "input").send_keys(f"@{playground.scene.bot_username} Sora losses")
    first = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#suggestions li[data-result-id]"))
    assert first.find_element(By.CSS_SELECTOR, "strong").text.startswith("OpenAI to close its Sora")
    first.click()

    def posted(d: Any) -> Any:
        for node in d.find_elements(By.CSS_SELECTOR, "#messages .msg.out"):
            if int(node.get_attribute("data-id")) > before and "via @" in node.text:
                return node
        return False

    message = wait(browser, posted)
    assert "OpenAI to close its Sora video app" in message.text
    assert message.find_elements(By.CSS_SELECTOR, ".text b")  # the bot's formatting came along


def test_two_sources_make_one_alert_that_gains_a_source(playground: Playground, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    first, _ = EVENT_REPORTS
    open_chat(browser, READER_ID)
    assert not browser.find_element(By.ID, "publish-event").is_displayed()  # the admin's button
    before = type_and_send(browser, "/subscribe openai")
    bot_message(browser, before, "ubscribed to OpenAI")
    before = max(message_ids(browser), default=0)

    open_chat(browser, playground.scene.admin_id)
    wait(browser, lambda _: playground.server.event.ready)  # the bot read both sites once, at start-up
    browser.find_element(By.ID, "publish-event").click()

    def note(d: Any) -> Any:
        notes = d.find_elements(By.CSS_SELECTOR, "#messages .service.note")
        return [n for n in notes if first.title in n.text]

    [shown] = wait(browser, note)
    assert "Harbour Gazette (demo)" in shown.text and "Valley Courier (demo)" in shown.text

    open_chat(browser, READER_ID)
    alert = bot_message(browser, before, first.title, seconds=30)
    assert "+1 source" not in node(browser, alert).text
    wait(browser, lambda d: "+1 source: Valley Courier (demo)" in node(d, alert).text, seconds=40)
    assert "edited" in node(browser, alert).find_element(By.CSS_SELECTOR, ".meta").text
    assert [n for n in message_ids(browser) if n > before] == [int(alert.rsplit("-", 1)[1])]


def test_page_loads_nothing_from_the_network_and_logs_no_errors(playground: Playground, browser: Any) -> None:
    origin = playground.url.rstrip("/")
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources, "the page loaded no resources at all"
    assert all(name.startswith(origin + "/") for name in resources), resources
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
