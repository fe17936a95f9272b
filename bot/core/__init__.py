"""The pure core: corpus, analyzer, index, snippets, topics, related stories.

Synchronous and typed; imports nothing from telegram, aiosqlite, asyncio or pydantic.
"""
