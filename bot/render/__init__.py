"""Rendering: what the bot says, as Telegram HTML, and its buttons as data; no other module writes HTML.

messages.py holds the wording (sources.py that about sources: /sources, pause notices), html.py the
mechanics (escaping, UTF-16 budgeting, splitting, the plain-text fallback), buttons.py inline buttons as
data. Pure and synchronous: must not import telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""
