"""Sources: feeds fetched over HTTP, the full text of their articles' pages, and the polling loop.

http.py is the guarded HTTP client (aiohttp; the only HTTP client the bot uses for the web), extract.py
reads an article page with trafilatura, poller.py schedules, fetches and stores. Parsing that can be pure
lives in the core (bot.core.entries, bot.core.polling, bot.core.sourcelist). Must not import telegram.
"""

from bot.sources.http import Fetched, FetchError, WebClient
from bot.sources.poller import CheckOutcome, Poller, PollReport, SourceCheck

__all__ = ["CheckOutcome", "FetchError", "Fetched", "PollReport", "Poller", "SourceCheck", "WebClient"]
