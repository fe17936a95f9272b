"""Access and abuse: admin commands checked against NEWSBOT_ADMIN_IDS when they run, group settings only
for chat administrators (asked of Telegram, cached briefly), flood limits, the token kept out of every
log line, reply, stored error and crash message, SQL only with parameters, and a corpus loader that never
leaves its directory.

Webhook mode's secret token (requests without it refused, logged without it) is checked in
tests/test_webhook_e2e.py.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from telegram import Bot

from bot.commands import admin_commands
from bot.core.corpus import load_corpus
from bot.render.messages import ADMINS_ONLY, NOT_ADMIN
from bot.standin import BotApiStandIn, EventKind, FaultKind
from bot.tg.permissions import ChatAdmins
from tests import reliability
from tests.harness import ADMIN, BOT_USERNAME, GROUP, OTHER, TOKEN, USER, BotUnderTest, running_bot
from tests.test_process import bot_env, exit_output, start_bot
from tests.test_reliability_hostile import replies_to

REPO = Path(__file__).resolve().parents[1]
GROUP_ADMIN = 1003  # administrator of GROUP in Telegram, not listed in NEWSBOT_ADMIN_IDS


def buttons(message: dict[str, object]) -> dict[str, str]:
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return {b["text"]: b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row}


# --------------------------------------------------------------------------- bot admins


async def test_admin_commands_check_the_admin_list_each_time_they_run(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    standin.scenario.add_member(GROUP, GROUP_ADMIN, admin=True)
    (newsbot.corpus / "secret-draft.md").write_text(
        "---\nid: draft\ntitle: Harbour cranes draft\n---\n\nNot for readers until an admin reloads.\n"
    )
    refused = 0
    for command in admin_commands():
        for chat, user in ((USER, USER), (GROUP, GROUP_ADMIN), (GROUP, USER)):
            [reply] = await newsbot.ask(chat, user, f"/{command.name}")
            assert reply["text"] == NOT_ADMIN, (command.name, chat, user)
            refused += 1
    [unseen] = await newsbot.ask(USER, USER, "harbour cranes draft")
    assert "Harbour cranes draft" not in unseen["text"]  # the refused /reload did not run

    # Checked at the moment of use, not remembered: take the admin off the list, then put them back.
    admins = newsbot.settings.admin_ids
    admins.remove(ADMIN)
    [demoted] = await newsbot.ask(ADMIN, ADMIN, "/stats")
    admins.append(ADMIN)
    [restored] = await newsbot.ask(ADMIN, ADMIN, "/stats")
    reliability.add("access checks refused", refused + 1)
    assert demoted["text"] == NOT_ADMIN
    assert restored["text"].startswith("Stats")
    # There are no admin buttons: the admin module makes no callback data at all.
    assert "callback_data" not in (REPO / "bot" / "tg" / "handlers" / "admin.py").read_text()


# --------------------------------------------------------------------------- chat administrators


async def test_chat_admin_status_is_asked_of_telegram_and_cached_for_a_minute(standin: BotApiStandIn) -> None:
    standin.scenario.add_group(-100900, "Desk", supergroup=True, admins=(ADMIN,), members=(USER,))
    now = [1_000.0]
    admins = ChatAdmins(clock=lambda: now[0])
    async with Bot(TOKEN, base_url=standin.base_url) as bot:

        def asked() -> int:
            return len(standin.requests("getChatMember"))

        assert await admins.may_manage(bot, -100900, "supergroup", ADMIN)
        assert await admins.may_manage(bot, -100900, "supergroup", ADMIN)
        assert asked() == 1  # a burst of presses costs one request
        standin.scenario.demote(-100900, ADMIN)
        now[0] += 59
        assert await admins.may_manage(bot, -100900, "supergroup", ADMIN)  # still cached
        now[0] += 2
        assert not await admins.may_manage(bot, -100900, "supergroup", ADMIN)  # a minute on: asked again
        assert asked() == 2
        assert not await admins.may_manage(bot, -100900, "supergroup", USER)
        assert not await admins.may_manage(bot, -100900, "supergroup", None)
        fault = standin.inject_fault("getChatMember", FaultKind.SERVER_ERROR)
        assert not await admins.may_manage(bot, -100900, "supergroup", 4242)  # Telegram failing: closed
        assert await admins.may_manage(bot, USER, "private", USER)
    reliability.faults_hit([fault])
    reliability.add("access checks refused", 4)


async def test_group_settings_and_subscriptions_are_for_chat_admins_only(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    [subscribed] = await newsbot.ask(GROUP, ADMIN, "/subscribe openai")
    assert "Subscribed to OpenAI" in subscribed["text"]
    [listing] = await newsbot.ask(GROUP, ADMIN, "/subscriptions")
    [remove] = buttons(listing).values()
    [topics] = await newsbot.ask(GROUP, USER, "/topics")
    refusals = []
    for command in ("/subscribe ai-standards", "/unsubscribe openai", "/unsubscribe all", "/related off"):
        [reply] = await newsbot.ask(GROUP, USER, command)
        refusals.append(reply["text"])
    answers = [
        (await newsbot.click(GROUP, USER, message, data, count=0))[-1].data
        for message, data in ((listing, remove), (topics, "tsub:openai"), (topics, "tsub:ai-standards"))
    ]
    [after] = await newsbot.ask(GROUP, ADMIN, "/subscriptions")
    [pushes] = await newsbot.ask(GROUP, ADMIN, "/related")
    reliability.add("access checks refused", len(refusals) + len(answers))
    assert refusals == [ADMINS_ONLY] * 4
    assert all(answer.get("text") == ADMINS_ONLY for answer in answers)
    assert "OpenAI" in after["text"] and "AI standards" not in after["text"]
    assert "on" in pushes["text"]
    assert standin.world.events(EventKind.EDITED, chat_id=GROUP) == []


# --------------------------------------------------------------------------- floods


async def test_a_group_flooded_with_topic_mentions_gets_at_most_the_allowed_pushes(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    async with running_bot(
        tmp_path, standin, push_cooldown_minutes=0, push_max_per_hour=3, questions_per_minute=3
    ) as bot:
        chatter = ["Sora again", "OpenAI news", "MIIT standards", "Codex is good", "the Pentagon deal", "MCP"]
        mark = standin.world.mark()
        for number in range(30):
            speaker = (USER, OTHER, ADMIN)[number % 3]
            standin.scenario.send_user_message(GROUP, speaker, chatter[number % len(chatter)])
        await bot.settled()  # every message taken and handled (handlers run concurrently)
        pushes = [
            event
            for event in standin.world.events(EventKind.SENT, chat_id=GROUP, after=mark)
            if (event.text or "").startswith("Related stories")
        ]
        await bot.ask(GROUP, ADMIN, "/related off")  # from now on only answers
        # One user asking the bot directly, over and over: three answers, then one "slow down".
        replies = []
        for _ in range(4):
            asked = standin.scenario.send_user_message(GROUP, OTHER, f"@{BOT_USERNAME} Sora losses")
            [reply] = await standin.wait_for(
                replies_to(asked["message_id"]),
                chat_id=GROUP,
            )
            replies.append(reply.text or "")
    reliability.add("flood messages sent", 30 + 4)
    assert 1 <= len(pushes) <= 3
    assert [text.startswith("Result") for text in replies] == [True, True, True, False]
    assert "faster than I can keep up" in replies[3]


# --------------------------------------------------------------------------- the token


def secret_parts() -> tuple[str, str]:
    return TOKEN, TOKEN.split(":")[1]


async def test_the_token_never_appears_in_logs_replies_stats_or_stored_errors(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("", "httpx", "httpcore", "telegram", "telegram.ext", "aiosqlite", "bot", "apscheduler"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with running_bot(tmp_path, standin, push_default=False, corpus_poll_seconds=0.3) as bot:
        await bot.ask(USER, USER, "/subscribe openai")
        faults = [
            standin.inject_fault("sendMessage", FaultKind.BAD_GATEWAY, chat_id=OTHER),
            standin.inject_fault("sendMessage", FaultKind.RESET, chat_id=ADMIN),
            standin.inject_fault("sendMessage", FaultKind.SERVER_ERROR, chat_id=USER),  # the alert, retried
            standin.inject_fault("getUpdates", FaultKind.BAD_GATEWAY),
        ]
        await bot.ask(OTHER, OTHER, "Sora")  # fails: the apology arrives
        await bot.ask(ADMIN, ADMIN, "Codex")
        (bot.corpus / "openai-token.md").write_text(
            "---\nid: openai-token\ntitle: OpenAI token story\ntopics: [openai]\n---\n\nA story.\n"
        )
        await standin.wait_for(lambda e: "OpenAI token story" in (e.text or ""), chat_id=USER, timeout=20)
        [stats] = await bot.ask(ADMIN, ADMIN, "/stats")
        [status] = await bot.ask(USER, USER, "/status")
        database = bot.database
    stored = b"".join(path.read_bytes() for path in database.parent.iterdir() if path.is_file())
    said = "\n".join(message.get("text", "") for message in standin.world.sent_messages())
    reliability.faults_hit(faults)
    assert all(fault.hits for fault in faults)
    assert "Stats" in stats["text"] and "Status" in status["text"]
    assert any("Sorry" in message.get("text", "") for message in standin.world.sent_messages(OTHER))
    assert len(caplog.records) > 100
    for secret in secret_parts():
        assert secret not in caplog.text
        assert secret not in said
        assert secret.encode() not in stored


async def test_a_rejected_token_is_reported_without_the_token(tmp_path: Path) -> None:
    """A revoked token: Telegram answers 401, PTB's own error message quotes the token; the crash output
    (at DEBUG) names the problem and never the token."""
    async with BotApiStandIn("111111:SOME-OTHER-token-BBBB") as other:
        env = bot_env(other, tmp_path)
        process = await start_bot(env, tmp_path)
        text = await exit_output(process, timeout=60)
    reliability.fault("token rejected (401)")
    assert process.returncode == 1
    assert "token was rejected by Telegram" in text and "NEWSBOT_TELEGRAM_TOKEN" in text
    for secret in secret_parts():
        assert secret not in text


# --------------------------------------------------------------------------- SQL and the corpus directory


def _static_sql(node: ast.expr, constants: dict[str, ast.expr]) -> bool:
    """Whether an SQL argument is fixed text: literals, a choice of literals, a migration script, or an
    f-string whose only holes are int(...) (PRAGMA values, which cannot be bound as parameters)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.IfExp):
        return _static_sql(node.body, constants) and _static_sql(node.orelse, constants)
    if isinstance(node, ast.JoinedStr):
        return all(
            isinstance(part, ast.Constant)
            or (
                isinstance(part, ast.FormattedValue)
                and isinstance(part.value, ast.Call)
                and isinstance(part.value.func, ast.Name)
                and part.value.func.id == "int"
            )
            for part in node.values
        )
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value.id == "migrations"
    if isinstance(node, ast.Name) and node.id in constants:
        return _static_sql(constants[node.id], constants)
    return False


def test_every_sql_statement_is_fixed_text_with_parameters() -> None:
    store = REPO / "bot" / "store"
    helpers = {"_rowcount", "_scalar", "_scalar_int", "_scalar_time"}
    methods = {"execute", "execute_fetchall", "executemany", "executescript"}
    checked = 0
    trees = {path.name: ast.parse(path.read_text()) for path in sorted(store.glob("*.py"))}
    for module, function in ((m, f) for m, tree in trees.items() for f in ast.walk(tree)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        # Local names bound once to fixed text (sql = "SELECT ..." then execute(sql, params)).
        constants = {
            target.id: assign.value
            for assign in ast.walk(function)
            if isinstance(assign, ast.Assign)
            for target in assign.targets
            if isinstance(target, ast.Name)
        }
        for call in ast.walk(function):
            if not isinstance(call, ast.Call):
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name in methods and call.args:
                sql = call.args[0]
            elif name in helpers and len(call.args) >= 2:
                sql = call.args[1]
            else:
                continue
            if function.name in helpers and isinstance(sql, ast.Name) and sql.id == "sql":
                continue  # the helpers pass their argument on; their callers are checked instead
            if module == "backend.py" and isinstance(sql, ast.Name) and sql.id in ("sql", "query"):
                continue  # the connection wrapper passes its callers' text on (rewritten for PostgreSQL)
            assert _static_sql(sql, constants), f"{module}:{call.lineno}: SQL built from {ast.unparse(sql)}"
            checked += 1
    assert checked > 40
    # And SQL lives nowhere else.
    for path in (REPO / "bot").rglob("*.py"):
        if store not in path.parents:
            assert ".execute(" not in path.read_text(), path


def test_the_corpus_loader_never_reads_outside_its_directory(tmp_path: Path) -> None:
    """Symlinks out are refused at the scan; a file or directory swapped for a symlink between the scan and
    the read (here: from the progress callback, which runs in between) is refused at the read."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = "---\ntitle: Secret\n---\n\nThe bot token is 987654321:TEST-secret.\n"
    (outside / "plain.md").write_text(secret)
    (outside / "nested").mkdir()
    (outside / "nested" / "inner.md").write_text(secret)
    corpus = tmp_path / "corpus"
    (corpus / "nested").mkdir(parents=True)
    (corpus / "plain.md").write_text("---\ntitle: Plain\n---\n\nHarmless.\n")
    (corpus / "nested" / "inner.md").write_text("---\ntitle: Inner\n---\n\nHarmless too.\n")
    (corpus / "big.md").write_text("---\ntitle: Big\n---\n\n" + "word " * 4000)
    (corpus / "link.md").symlink_to(outside / "plain.md")
    (corpus / "dir-link").symlink_to(outside, target_is_directory=True)

    def swap(done: int, total: int) -> None:
        if done == 0:  # after the scan, before any file is read
            (corpus / "plain.md").unlink()
            (corpus / "plain.md").symlink_to(outside / "plain.md")
            (corpus / "nested" / "inner.md").unlink()
            (corpus / "nested").rmdir()
            (corpus / "nested").symlink_to(outside / "nested", target_is_directory=True)

    loaded = load_corpus(corpus, max_bytes=10_000, progress=swap)
    reasons = {problem.path: problem.reason for problem in loaded.problems}
    reliability.add("access checks refused", len(reasons))
    assert loaded.articles == ()
    assert "over the 10,000-byte limit" in reasons["big.md"]
    assert "outside the corpus directory" in reasons["link.md"]
    assert "outside the corpus directory" in reasons["dir-link"]
    assert "outside the corpus directory" in reasons["plain.md"]
    assert "outside the corpus directory" in reasons["nested/inner.md"]
