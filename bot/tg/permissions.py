"""Who may change a chat's settings: anyone in a private chat; in groups, chat administrators only.

Administrator status is asked of Telegram (getChatMember) and cached briefly, so a demoted admin loses
the right within a minute while a burst of button presses costs one request. Housekeeping
(bot.tg.housekeeping) drops answers past their cache time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram import Bot, ChatMember
from telegram.constants import ChatType
from telegram.error import TelegramError

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
MANAGER_STATUSES = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}


class ChatAdmins:
    """Answers "may this user manage this chat?" with a short-lived cache of getChatMember."""

    def __init__(self, *, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[int, int], tuple[float, bool]] = {}

    async def may_manage(self, bot: Bot, chat_id: int, chat_type: str, user_id: int | None) -> bool:
        """True in private chats; in groups only for administrators and the owner."""
        if chat_type == ChatType.PRIVATE:
            return True
        if user_id is None:
            return False
        key = (chat_id, user_id)
        cached = self._cache.get(key)
        now = self._clock()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as error:
            log.warning("could not check admin status of user %s in chat %s: %s", user_id, chat_id, error)
            return False  # fail closed
        allowed = member.status in MANAGER_STATUSES
        self._cache[key] = (now, allowed)
        return allowed

    def forget_expired(self) -> int:
        """Drop answers older than the cache time (they would be asked again anyway); return how many."""
        now = self._clock()
        expired = [key for key, (at, _) in self._cache.items() if now - at >= self._ttl]
        for key in expired:
            del self._cache[key]
        return len(expired)

    def __len__(self) -> int:
        return len(self._cache)
