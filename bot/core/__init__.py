"""The core: corpus, analyzer, index, library, snippets, topics, interests, related stories, snapshots.

Synchronous and typed, returning data (never markup); imports nothing from telegram, aiosqlite, asyncio,
pydantic or an HTTP client (tests/test_architecture.py). Its only I/O is reading: the corpus directory
(corpus/scan.py), the topics file (topics.load_topics) and index snapshots (snapshot.py, which also
writes them); everything else is pure.
"""
