"""Webhook mode end to end: the real bot serves PTB's webhook on 127.0.0.1, the stand-in POSTs updates to
it with the secret token header, and the answers reach the stand-in; requests without the secret are
refused and logged without any token. /healthz and /metrics in both modes."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from bot.ops import Metrics
from bot.standin import BotApiStandIn
from bot.store.scratch import free_port
from tests.harness import TOKEN, USER, running_bot
from tests.test_process import STARTUP_TIMEOUT, bot_env, start_bot

SECRET = "webhook-Secret_0123456789"


def webhook_settings(port: int) -> dict[str, object]:
    """The overrides that put the bot into webhook mode on its own 127.0.0.1 port."""
    return {
        "webhook_url": f"http://127.0.0.1:{port}/telegram",
        "webhook_secret": SECRET,
        "listen_port": port,
    }


def update(update_id: int, text: str) -> dict[str, object]:
    """A message update from USER, as Telegram would POST it."""
    user = {"id": USER, "is_bot": False, "first_name": "Ursula"}
    chat = {"id": USER, "type": "private", "first_name": "Ursula"}
    message = {"message_id": 9000 + update_id, "date": 1_700_000_000, "chat": chat, "from": user}
    return {"update_id": update_id, "message": {**message, "text": text}}


async def test_updates_posted_with_the_secret_are_answered(tmp_path: Path, standin: BotApiStandIn) -> None:
    port = free_port()
    async with running_bot(tmp_path, standin, **webhook_settings(port)) as bot:
        [reply] = await bot.ask(USER, USER, "/start")
        assert reply["text"].startswith("Hello!") and "4 articles" in reply["text"]
        [answer] = await bot.ask(USER, USER, "What did OpenAI release?")
        assert "OpenAI" in answer["text"]
        assert not standin.requests("getUpdates")  # no polling at all
        [webhook] = standin.requests("setWebhook")
        assert webhook.params["secret_token"] == SECRET
        assert webhook.params["url"] == f"http://127.0.0.1:{port}/telegram"
        assert webhook.params.get("drop_pending_updates") in (None, "false")  # kept, as polling keeps them
    assert {d.status for d in standin.webhook_deliveries} <= {0, 200}  # 0: before the server listened
    assert standin.world.webhook_url  # kept set, so Telegram holds updates while the bot is down


@pytest.mark.parametrize("header", [None, "wrong-secret-value", SECRET[:-1]])
async def test_a_post_without_the_right_secret_is_refused_and_logged_without_tokens(
    header: str | None, tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    async with running_bot(tmp_path, standin, **webhook_settings(port)) as bot:
        await bot.ask(USER, USER, "/start")  # served and answered: the server is up
        mark = standin.world.mark()
        headers = {} if header is None else {"X-Telegram-Bot-Api-Secret-Token": header}
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                f"http://127.0.0.1:{port}/telegram", json=update(777_001, "/start"), headers=headers
            )
        assert refused.status_code == 403
        await bot.settled()
        assert standin.world.events(chat_id=USER, after=mark) == []
    assert "refused a webhook request from 127.0.0.1" in caplog.text
    for secret in (SECRET, TOKEN, header or SECRET):
        assert secret not in caplog.text


async def test_polling_again_deletes_the_webhook_and_answers_what_waited(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    port = free_port()
    async with running_bot(tmp_path, standin, **webhook_settings(port)):
        pass
    standin.scenario.send_user_message(USER, USER, "/help")  # while the bot is down: Telegram holds it
    async with running_bot(tmp_path, standin) as bot:
        await standin.wait_for(chat_id=USER)
        await bot.settled()
    assert standin.world.webhook_url == ""
    deleted = standin.requests("deleteWebhook")
    assert len(deleted) == 1 and deleted[0].params.get("drop_pending_updates") in (None, "false")


def sample(exposition: str, name: str) -> float:
    """The value of one unlabelled sample in Prometheus's text format."""
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in the metrics")


@pytest.mark.parametrize("webhook", [True, False], ids=["webhook", "polling"])
async def test_healthz_and_metrics(webhook: bool, tmp_path: Path, standin: BotApiStandIn) -> None:
    metrics_port = free_port()
    overrides: dict[str, object] = {"metrics_port": metrics_port}
    if webhook:
        overrides.update(webhook_settings(free_port()))
    base = f"http://127.0.0.1:{metrics_port}"
    async with running_bot(tmp_path, standin, **overrides) as bot, httpx.AsyncClient() as client:
        await bot.ask(USER, USER, "/start")  # not a question: no answer counted
        before = (await client.get(f"{base}/metrics")).text
        await bot.ask(USER, USER, "What did OpenAI release?")
        await bot.settled()
        health = await client.get(f"{base}/healthz")
        scraped = await client.get(f"{base}/metrics")
        assert (health.status_code, health.text) == (200, "ok\n")
        assert scraped.headers["content-type"].startswith("text/plain; version=")
        assert sample(before, "newsbot_answers_total") == 0
        assert sample(scraped.text, "newsbot_answers_total") == 1
        assert sample(scraped.text, "newsbot_answer_seconds_count") == 1
        assert sample(scraped.text, "newsbot_outbox_depth") == 0
        assert 'newsbot_alerts{status="pending"} 0.0' in scraped.text
        await bot.services.store.close()  # the database stops answering
        sick = await client.get(f"{base}/healthz")
        assert sick.status_code == 503 and "database" in sick.text
    with pytest.raises(httpx.ConnectError):  # the server is gone with the bot
        async with httpx.AsyncClient() as client:
            await client.get(f"{base}/healthz")


def test_metrics_show_each_sources_health() -> None:
    metrics = Metrics()
    metrics.sources([("Wire", 0, False), ("Broken feed", 3, False), ("Paused", 5, True)])
    metrics.outbox({"pending": 4, "sent": 10, "failed": 1, "parked": 2})
    text = metrics.exposition().decode()
    assert 'newsbot_source_up{source="Wire"} 1.0' in text
    assert 'newsbot_source_up{source="Broken feed"} 0.0' in text
    assert 'newsbot_source_up{source="Paused"} 0.0' in text
    assert 'newsbot_source_failures{source="Broken feed"} 3.0' in text
    assert sample(text, "newsbot_outbox_depth") == 4
    assert 'newsbot_alerts{status="failed"} 1.0' in text
    metrics.sources([("Wire", 0, False)])  # a source removed from the list leaves the metrics
    assert "Broken feed" not in metrics.exposition().decode()


async def test_newsbot_run_in_webhook_mode_answers_and_stops_cleanly_on_sigterm(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    port, metrics_port = free_port(), free_port()
    env = bot_env(
        standin,
        tmp_path,
        NEWSBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        NEWSBOT_WEBHOOK_SECRET=SECRET,
        NEWSBOT_LISTEN_PORT=str(port),
        NEWSBOT_METRICS_PORT=str(metrics_port),
    )
    process = await start_bot(env, tmp_path)
    try:
        await process.wait_polling(standin, STARTUP_TIMEOUT)  # here: until the webhook is set
        [answer] = await standin.ask(USER, USER, "Sora daily losses", timeout=20)
        assert "OpenAI to close its Sora video app" in answer["text"]
        async with httpx.AsyncClient() as client:
            refused = await client.post(f"http://127.0.0.1:{port}/telegram", json=update(5, "/start"))
            assert refused.status_code == 403
            assert (await client.get(f"http://127.0.0.1:{metrics_port}/healthz")).status_code == 200
    finally:
        await process.stop(timeout=30)
    log = process.output()
    assert process.returncode == 0, log[-2000:]
    assert "shutting down" in log and "refused a webhook request" in log
    for secret in (SECRET, TOKEN, TOKEN.split(":")[1]):
        assert secret not in log
