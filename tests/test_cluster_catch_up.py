"""A replica's alert worker meets an alert whose article another replica added, while this replica's own
reload (started by the others' notice) is still under way: catching up waits for that reload's view
instead of returning at once, so the alert is not taken for gone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.cluster import Cluster
from bot.core.archive import extend_library
from bot.core.library import Library
from bot.core.models import Article
from bot.runtime import Runtime
from bot.settings import Settings
from bot.store import Store


async def test_catching_up_waits_for_the_reload_under_way(tmp_path: Path, bundled_library: Library) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    settings = Settings(corpus_dir=corpus, database=tmp_path / "db.sqlite3", corpus_poll_seconds=0)
    store = await Store.open(settings.database)
    try:
        runtime = Runtime(settings=settings, store=store, library=bundled_library)
        cluster = Cluster(store, runtime, name="replica-1", lead=lambda stop: [], wake_alerts=lambda: None)
        arrived = Article(id="from-another-replica", title="Harbour crane record", body="A record lift.")
        reload_lock = runtime._reload_lock
        await reload_lock.acquire()  # the reload the notice started, reading the corpus

        async def the_reload_finishes() -> None:
            await asyncio.sleep(0.3)
            runtime.library = extend_library(runtime.library, [arrived])  # its view swapped in
            reload_lock.release()

        finishing = asyncio.create_task(the_reload_finishes())
        await asyncio.wait_for(cluster.catch_up(), timeout=10)
        known_when_caught_up = runtime.library.article("from-another-replica")
        await finishing
        assert known_when_caught_up == arrived  # not back before the view that knows it
    finally:
        await store.close()
