"""Webhook mode: python-telegram-bot's Updater.start_webhook (a tornado server) receives the updates
Telegram POSTs to NEWSBOT_WEBHOOK_URL, in place of bot.tg.polling's getUpdates loop.

PTB checks X-Telegram-Bot-Api-Secret-Token on every request (403 without the right one); RefusalLog turns
its DEBUG lines about a refused request into one warning that names neither the expected nor the given
token. The webhook is set with the same allowed updates as polling and keeps the updates Telegram holds
(as polling does); bot.tg.polling deletes it when the bot long-polls again. Called only by the
composition root.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from telegram.error import TelegramError

from bot.settings import Settings
from bot.tg.context import NewsbotApp
from bot.tg.polling import ALLOWED_UPDATES

log = logging.getLogger(__name__)

UPDATER_LOGGER = "telegram.ext.Updater"  # PTB's webhook server logs as its Updater
BOOTSTRAP_RETRIES = 5  # setWebhook tries at start-up, a second apart, before the bot gives up


class RefusalLog(logging.Filter):
    """On PTB's Updater logger: a request its webhook server refused (403) becomes one WARNING naming the
    client and the reason; PTB's own lines quoting a wrong secret are dropped; other records pass at the
    level the root logger lets through (the Updater logger is opened to DEBUG to see the refusals)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(("Request had the wrong secret token", "Request did not include the secret")):
            return False
        error = record.exc_info[1] if record.exc_info else None
        if "Exception in TelegramHandler" in message and getattr(error, "status_code", None) == 403:
            client = message.partition(" - ")[0]
            reason = getattr(error, "reason", None) or "not a JSON update"
            record.msg, record.args = f"refused a webhook request from {client}: {reason} (403)", None
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return record.levelno >= logging.getLogger().getEffectiveLevel()


def url_path(webhook_url: str) -> str:
    """The path the webhook server answers on: the webhook URL's own (a proxy passes it on unchanged)."""
    return urlsplit(webhook_url).path or "/"


class WebhookReceiver:
    """Receives updates through PTB's webhook server until `stop` (run), with the same role as
    bot.tg.polling.Poller in polling mode."""

    def __init__(self, application: NewsbotApp, settings: Settings) -> None:
        if settings.webhook_url is None or settings.webhook_secret is None:
            raise ValueError("webhook mode needs NEWSBOT_WEBHOOK_URL and NEWSBOT_WEBHOOK_SECRET")
        self.application = application
        self.url = settings.webhook_url
        self.secret = settings.webhook_secret
        self.host = settings.listen_host
        self.port = settings.listen_port

    async def run(self, stop: asyncio.Event) -> None:
        """Set the webhook and serve it until `stop`; a webhook that cannot be set or served stops the bot
        with the reason."""
        data = self.application.bot_data
        updater = self.application.updater
        if updater is None:
            raise RuntimeError("webhook mode needs the application built with PTB's Updater")
        # No 409 tells of a second instance here: on SQLite the database's instance lock keeps a second
        # one out; on PostgreSQL several replicas behind one address are the point.
        data.sole_instance.confirm()
        refusals = RefusalLog()
        updater_log = logging.getLogger(UPDATER_LOGGER)
        level = updater_log.level
        updater_log.addFilter(refusals)
        updater_log.setLevel(logging.DEBUG)
        try:
            try:
                await updater.start_webhook(
                    listen=self.host,
                    port=self.port,
                    url_path=url_path(self.url),
                    webhook_url=self.url,
                    secret_token=self.secret.get_secret_value(),
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,  # as polling: what Telegram holds is answered now
                    bootstrap_retries=BOOTSTRAP_RETRIES,
                )
            except (TelegramError, OSError) as error:
                reason = f"could not start webhook mode on {self.host}:{self.port}: {error}"
                log.error("%s", reason)
                if data.exit_reason is None:
                    data.exit_reason = reason
                stop.set()
                return
            log.info("webhook mode: Telegram posts to %s, served on %s:%d", self.url, self.host, self.port)
            try:
                await stop.wait()
            finally:
                await updater.stop()  # the server closes; the webhook stays set, so Telegram holds updates
        finally:
            data.sole_instance.refuse()
            updater_log.removeFilter(refusals)
            updater_log.setLevel(level)
