"""Polling that never goes deaf: a proxy's 404 page, a revoked token, a poller that dies or stalls, and a
second instance that must not confirm changes, all against the Bot API stand-in on 127.0.0.1.

Each test counts what it injected in tests/reliability.py.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path

import httpx
import pytest

from bot.compose import compose, run
from bot.core.interests import SubscriptionKind
from bot.localbot import local_bot
from bot.standin import BotApiStandIn, EventKind, FaultKind
from bot.store import Store
from bot.tg.polling import CONFLICT_MESSAGE, RESTART_LIMIT, TOKEN_REJECTED
from tests import reliability
from tests.harness import TOKEN, USER, make_settings
from tests.test_process import STARTUP_TIMEOUT, bot_env, exit_output, start_bot


async def until(condition: object, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a hang guard
    """Wait for something the bot brings about (the deadline only stops a hung test)."""
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- 404 pages and a revoked token


async def test_a_proxys_404_page_while_polling_is_retried_and_answers_keep_coming(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """getUpdates meets a proxy's HTML 404 page three times in a row. PTB calls that InvalidToken and its
    Updater would stop polling for good; here getMe shows the token still works, so polling backs off,
    resumes, and a question asked meanwhile is answered."""
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0, push_default=False)
    async with local_bot(settings, standin) as bot:
        pages = standin.inject_fault("getUpdates", FaultKind.NOT_FOUND_PAGE, times=3)
        await until(lambda: pages.hits == 3)
        [answer] = await standin.ask(USER, USER, "Sora daily losses", timeout=30)
        assert not bot.task.done()
    polls = standin.requests("getUpdates")
    reliability.faults_hit([pages])

    assert answer["text"].startswith("Result")
    failed = [index for index, record in enumerate(polls) if record.status == 404]
    assert len(failed) == 3 and failed == list(range(failed[0], failed[0] + 3))
    times = [polls[index].at for index in [*failed, failed[-1] + 1]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == sorted(gaps) and gaps[0] >= 1.0  # backing off
    assert polls[failed[-1] + 1].status == 200
    checks = [
        r for r in standin.requests("getMe") if polls[failed[0]].at <= r.at <= polls[failed[-1]].at + 60
    ]
    assert len(checks) == 3 and all(r.status == 200 for r in checks)  # getMe decided each time
    assert await asyncio.wait_for(bot.task, 30) is None  # and it stopped cleanly, as asked


async def test_a_revoked_token_stops_the_bot_with_one_clear_reason(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """The token is revoked while the bot polls: getUpdates and then getMe answer 401, and the bot stops
    by itself (no SIGTERM needed) with the reason naming NEWSBOT_TELEGRAM_TOKEN, never the token."""
    caplog.set_level(logging.DEBUG)
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0)
    services = await compose(settings, TOKEN, poll_timeout=1, probation=0.0)
    task = asyncio.create_task(run(services, install_signal_handlers=False))
    await standin.wait_until_polling(timeout=30)
    standin.revoke_token()
    reason = await asyncio.wait_for(task, 30)  # a hang guard: deaf, it would never return
    reliability.fault("token revoked while polling (401)")

    assert reason == TOKEN_REJECTED
    assert "NEWSBOT_TELEGRAM_TOKEN" in reason
    assert any(r.status == 401 for r in standin.requests("getMe"))
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


async def test_a_revoked_token_ends_newsbot_run_with_exit_1_and_one_line(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """`newsbot run` as a process: revoked while polling, it exits on its own with code 1 and one line
    saying what to fix; no traceback, no "still running", no token."""
    process = await start_bot(bot_env(standin, tmp_path, NEWSBOT_LOG_LEVEL="INFO"), tmp_path)
    try:
        await process.wait_polling(standin, STARTUP_TIMEOUT)
        standin.revoke_token()
        output = await exit_output(process, timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    reliability.fault("token revoked while polling (401)")

    assert process.returncode == 1
    assert output.strip().splitlines()[-1] == f"newsbot: {TOKEN_REJECTED}"
    assert "Traceback" not in output and "still running" not in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


async def test_sigterm_after_a_404_storm_exits_cleanly(tmp_path: Path, standin: BotApiStandIn) -> None:
    """After getUpdates met 404 pages (which end PTB's own polling loop with an exception that then broke
    the shutdown), SIGTERM still stops `newsbot run` with exit code 0."""
    process = await start_bot(bot_env(standin, tmp_path, NEWSBOT_LOG_LEVEL="INFO"), tmp_path)
    pages = standin.inject_fault("getUpdates", FaultKind.NOT_FOUND_PAGE, times=2)
    try:
        await process.wait_polling(standin, STARTUP_TIMEOUT)
        await until(lambda: pages.hits == 2)
        await standin.wait_until_polling(timeout=30)  # polling again after the pages
        code = await process.stop(timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    reliability.faults_hit([pages])
    output = process.output()
    assert code == 0, output[-2000:]
    assert "still running" not in output and "Traceback" not in output


# --------------------------------------------------------------------------- the watchdog


async def test_a_poller_that_dies_is_restarted_by_the_watchdog(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Something ends the polling loop from outside (here: its task is cancelled): the watchdog notices,
    says so in the log, polls again, and the next question is answered."""
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0, push_default=False)
    async with local_bot(settings, standin) as bot:
        poller = bot.services.poller
        dying = poller.task
        assert dying is not None
        dying.cancel()
        await until(lambda: poller.task is not dying)
        [answer] = await standin.ask(USER, USER, "Codex Sites", timeout=30)
    reliability.fault("poller killed")
    assert answer["text"].startswith("Result")
    assert poller.restarts == 1
    assert "the watchdog restarts it" in caplog.text


async def test_a_stalled_poll_is_cut_by_the_watchdog(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A getUpdates call that never returns (the client would wait a minute for it): after stall_after
    seconds without a sign of life the watchdog cuts it and polls afresh."""
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0, push_default=False)
    async with local_bot(settings, standin, stall_after=2.0) as bot:
        bot.services.poller.read_margin = 120.0  # so only the watchdog can end the held call
        held = standin.inject_fault("getUpdates", FaultKind.TIMEOUT, delay=120.0)
        await until(lambda: held.hits == 1)
        [answer] = await standin.ask(USER, USER, "MIIT standards", timeout=30)
        restarts = bot.services.poller.restarts
    reliability.faults_hit([held])
    assert answer["text"].startswith("Result")
    assert restarts == 1
    assert "stalled" in caplog.text


async def test_a_poller_that_keeps_dying_stops_the_bot_loudly(tmp_path: Path, standin: BotApiStandIn) -> None:
    """Restarted more than RESTART_LIMIT times within the window, polling is hopeless: the bot stops with a
    reason (so a supervisor restarts it) instead of running deaf."""
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0)
    services = await compose(settings, TOKEN, poll_timeout=1, probation=0.0)
    task = asyncio.create_task(run(services, install_signal_handlers=False))
    await standin.wait_until_polling(timeout=30)
    poller = services.poller
    for _ in range(RESTART_LIMIT + 1):
        dying = poller.task
        assert dying is not None
        dying.cancel()
        await until(lambda dying=dying: poller.task is not dying or task.done())
    reason = await asyncio.wait_for(task, 30)
    assert reason is not None and "polling for updates kept stopping" in reason


# --------------------------------------------------------------------------- a second instance


async def test_a_newcomer_does_not_confirm_a_change_before_it_knows_it_is_alone(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """Another instance already polls this token (played here by a raw getUpdates call). A newcomer with
    its own database fetches a /subscribe, but holds it while on probation; the other instance's next
    poll ends the newcomer's with 409, the newcomer stops, and it neither stores the subscription nor
    says "Subscribed" (the user is asked to send it again, which the remaining instance will handle)."""
    mark = standin.world.mark()
    standin.scenario.send_user_message(USER, USER, "/subscribe openai")
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0)
    services = await compose(settings, TOKEN, poll_timeout=5, probation=30.0)
    task = asyncio.create_task(run(services, install_signal_handlers=False))
    await standin.wait_until_delivered(timeout=30)  # fetched and confirmed by the newcomer…
    await standin.wait_until_polling(timeout=30)  # …which polls again
    async with httpx.AsyncClient(timeout=10) as client:  # the instance that was there first
        await client.post(f"{standin.api_url}/getUpdates", json={"timeout": 0})
    reason = await asyncio.wait_for(task, 30)
    replies = [e.text or "" for e in standin.world.events(EventKind.SENT, chat_id=USER, after=mark)]
    async with await Store.open(settings.database) as store:
        stored = await store.subscriptions(USER)
    reliability.fault("second instance (409)")

    assert reason == CONFLICT_MESSAGE
    assert stored == []
    assert not any("Subscribed" in text for text in replies)
    assert len(replies) == 1 and "send it again" in replies[0]


async def test_an_instance_alone_confirms_a_change_once_its_probation_is_over(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0)
    async with local_bot(settings, standin, probation=2.0) as bot:
        [confirmed] = await standin.ask(USER, USER, "/subscribe openai", timeout=30)
        assert bot.services.application.bot_data.sole_instance.confirmed
        stored = await bot.services.store.subscriptions(USER)
    assert "Subscribed to OpenAI" in confirmed["text"]
    assert [(s.kind, s.value) for s in stored] == [(SubscriptionKind.TOPIC, "openai")]


async def test_a_404_page_at_start_up_names_the_address_setting_not_the_token(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """The first getMe meets a proxy's 404 page: the bot does not start, and says to check the address
    (NEWSBOT_TELEGRAM_BASE_URL), instead of claiming Telegram rejected a token it never saw."""
    standin.inject_fault("getMe", FaultKind.NOT_FOUND_PAGE)
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0)
    reason = await run(await compose(settings, TOKEN, poll_timeout=1), install_signal_handlers=False)
    assert reason is not None and "404 Not Found" in reason and "NEWSBOT_TELEGRAM_BASE_URL" in reason
    assert "rejected" not in reason
