"""The corpus: a directory of Markdown, JSON Lines, scraped text pages and feeds → articles + problems.

scan.py is the only module here that does I/O (it walks, reads, settles and fingerprints files); every
format is parsed by a pure module of its own (markdown, jsonl, pages, feeds, with fields.py shared),
chosen in formats.py. Bad input becomes a Problem, never an exception, and the rest still loads.
Synchronous; must not import telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from bot.core.corpus.formats import ARTICLE_SUFFIXES
from bot.core.corpus.scan import (
    DEFAULT_MAX_BYTES,
    CorpusChanges,
    Progress,
    corpus_changes,
    corpus_fingerprint,
    corpus_state,
    load_corpus,
    load_file,
)

__all__ = [
    "ARTICLE_SUFFIXES",
    "DEFAULT_MAX_BYTES",
    "CorpusChanges",
    "Progress",
    "corpus_changes",
    "corpus_fingerprint",
    "corpus_state",
    "load_corpus",
    "load_file",
]
