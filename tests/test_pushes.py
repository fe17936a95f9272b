"""Related-story pushes: the per-chat lock that keeps two messages from both passing the push limits."""

from __future__ import annotations

import asyncio

from bot.tg.handlers.pushes import ChatLocks


async def test_chat_locks_serialise_one_chat_and_are_forgotten_when_free() -> None:
    locks = ChatLocks()
    order: list[str] = []
    release_first = asyncio.Event()

    async def hold(chat_id: int, name: str, until: asyncio.Event | None = None) -> None:
        async with locks.hold(chat_id):
            order.append(f"{name} in")
            if until is not None:
                await until.wait()
            order.append(f"{name} out")

    first = asyncio.create_task(hold(1, "first", release_first))
    second = asyncio.create_task(hold(1, "second"))
    other = asyncio.create_task(hold(2, "other"))
    await other  # chat 2 is not held up by chat 1
    assert order == ["first in", "other in", "other out"]  # the second holder of chat 1 waits
    assert len(locks) == 1  # chat 1 only: chat 2's lock went with its last holder
    release_first.set()
    await asyncio.gather(first, second)
    assert order.index("first out") < order.index("second in")
    assert len(locks) == 0
