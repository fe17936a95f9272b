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

# The first pause after a failed poll where the bot runs in-process (the product's is 1 s); the growth
# of the pauses after it stays well above the jitter of a request to the stand-in, so the gaps between
# polls still show it.
POLL_BACKOFF = 0.25


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
    # The pages meet the bot's first polls, so that no long poll already open has to run out first
    # (local_bot would only return once polling works again: the bot is run here directly). The pauses
    # grow from POLL_BACKOFF (the product's first pause is 1 s): 0.25, 0.375, 0.56 s.
    pages = standin.inject_fault("getUpdates", FaultKind.NOT_FOUND_PAGE, times=3)
    services = await compose(settings, TOKEN, poll_timeout=1, probation=0.0, poll_backoff=POLL_BACKOFF)
    task = asyncio.create_task(run(services, install_signal_handlers=False))
    try:
        await until(lambda: pages.hits == 3 or task.done())
        [answer] = await standin.ask(USER, USER, "Sora daily losses", timeout=30)  # while it pauses
        assert not task.done()
    finally:
        services.stopping.set()
        reason = await asyncio.wait_for(task, 30)
    polls = standin.requests("getUpdates")
    reliability.faults_hit([pages])

    assert answer["text"].startswith("Result")
    failed = [index for index, record in enumerate(polls) if record.status == 404]
    assert len(failed) == 3 and failed == list(range(failed[0], failed[0] + 3))
    times = [polls[index].at for index in [*failed, failed[-1] + 1]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == sorted(gaps) and gaps[0] >= POLL_BACKOFF  # backing off
    assert polls[failed[-1] + 1].status == 200
    checks = [
        r for r in standin.requests("getMe") if polls[failed[0]].at <= r.at <= polls[failed[-1]].at + 60
    ]
    assert len(checks) == 3 and all(r.status == 200 for r in checks)  # getMe decided each time
    assert reason is None  # and it stopped cleanly, as asked


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
    the shutdown), SIGTERM still stops `newsbot run` with exit code 0.

    The SIGTERM lands once getMe has said the token still works after the second page, in the pause
    before polling again (1.5 s in a process, where the back-off cannot be shortened): the moment PTB's
    loop would have been dead."""
    process = await start_bot(bot_env(standin, tmp_path, NEWSBOT_LOG_LEVEL="INFO"), tmp_path)
    pages = standin.inject_fault("getUpdates", FaultKind.NOT_FOUND_PAGE, times=2)

    def checked_after_the_storm() -> bool:
        failed = [record.at for record in standin.requests("getUpdates") if record.status == 404]
        return len(failed) == 2 and any(record.at > failed[-1] for record in standin.requests("getMe"))

    try:
        await until(lambda: checked_after_the_storm() or process.returncode is not None, STARTUP_TIMEOUT)
        assert process.returncode is None, f"the bot exited before the SIGTERM:\n{process.tail()}"
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
    seconds without a sign of life the watchdog cuts it and polls afresh.

    The bot's first poll is the one held (no waiting for a poll in flight to end), and stall_after is
    half a second above the 1 s long poll that a healthy poll may take."""
    settings, _ = make_settings(tmp_path, standin, corpus_poll_seconds=0, push_default=False)
    held = standin.inject_fault("getUpdates", FaultKind.TIMEOUT, delay=120.0)
    # read_timeout: so only the watchdog can end the held call. local_bot returns once a long poll is
    # open, and the held call never opens one (the fault holds it first): only after the watchdog cut it.
    async with local_bot(settings, standin, stall_after=1.5, read_timeout=120.0) as bot:
        assert held.hits == 1
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
    # The verdict comes with the first poll to return after the probation: with 1 s long polls and the
    # /subscribe fetched at once, that is the second poll, a second in.
    async with local_bot(settings, standin, probation=0.5) as bot:
        sole = bot.services.application.bot_data.sole_instance
        assert not sole.decided  # the /subscribe arrives during the probation
        [confirmed] = await standin.ask(USER, USER, "/subscribe openai", timeout=30)
        assert sole.confirmed
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
