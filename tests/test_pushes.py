"""Related-story pushes: the per-chat lock that keeps two messages from both passing the push limits, and
the per-user limit that refuses a flood before analysing it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.core.library import Library
from bot.core.models import Topic
from bot.core.related import message_topics
from bot.standin import BotApiStandIn
from bot.tg.handlers import pushes
from bot.tg.handlers.pushes import ChatLocks
from tests.harness import GROUP, OTHER, USER, running_bot


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


async def test_a_flooding_user_costs_no_analysis_once_over_the_limit(
    tmp_path: Path, standin: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long messages naming a topic, far faster than NEWSBOT_QUESTIONS_PER_MINUTE, in a private chat (each
    a question) and in a group (chatter): past the limit a message is refused before any of it is
    analysed, so a flooding user costs the others next to nothing."""
    analysed: list[int] = []
    real = message_topics

    def counting(library: Library, text: str) -> list[Topic]:
        analysed.append(len(text))
        return real(library, text)

    monkeypatch.setattr(pushes, "message_topics", counting)
    flood = ("OpenAI and Sora losses. " + "People said it was time this year. " * 200)[:4096]
    async with running_bot(tmp_path, standin, questions_per_minute=2) as bot:
        for _ in range(5):
            standin.scenario.send_user_message(GROUP, OTHER, flood)
            standin.scenario.send_user_message(USER, USER, flood)
        await bot.settled()
        replies = [m["text"] for m in bot.replies(USER)]
    assert len(analysed) == 4  # two messages per user were analysed; the other six were refused first
    assert sum(text.startswith("You're asking faster") for text in replies) == 1
