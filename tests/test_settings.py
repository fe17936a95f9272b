"""Settings: parsing of every kind of value, and one-line errors that exit with code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings, unknown_variables
from tests.conftest import REPO


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    settings = load_settings()
    assert settings.telegram_token is None
    assert settings.telegram_base_url == "https://api.telegram.org/bot"
    assert settings.admin_ids == []
    assert settings.corpus_dir == Path("corpus")
    assert settings.database == Path("data/newsbot.sqlite3")
    assert settings.log_level == "INFO"
    assert settings.topics_path == Path("corpus/topics.yaml")


@pytest.mark.parametrize("raw", ["1,2", "[1,2]", " 1 , 2 ", "[1, 2]"])
def test_admin_ids_accept_both_forms(raw: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_ADMIN_IDS", raw)
    assert load_settings().admin_ids == [1, 2]


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("NEWSBOT_ADMIN_IDS=7\nNEWSBOT_LOG_LEVEL=debug\nNEWSBOT_TOPICS_FILE=\n")
    settings = load_settings()
    assert settings.admin_ids == [7]
    assert settings.log_level == "DEBUG"
    assert settings.topics_file is None  # an empty line means "unset", as in .env.example


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_TELEGRAM_TOKEN", "123:SECRET")
    settings = load_settings()
    assert "SECRET" not in repr(settings)
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "123:SECRET"


def test_base_url_trailing_slash_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_TELEGRAM_BASE_URL", "http://127.0.0.1:8081/bot/")
    assert load_settings().telegram_base_url == "http://127.0.0.1:8081/bot"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NEWSBOT_ADMIN_IDS", "alice,bob", "NEWSBOT_ADMIN_IDS"),
        ("NEWSBOT_ADMIN_IDS", "[1,", "NEWSBOT_ADMIN_IDS"),
        ("NEWSBOT_LOG_LEVEL", "LOUD", "NEWSBOT_LOG_LEVEL"),
        ("NEWSBOT_TELEGRAM_BASE_URL", "ftp://x", "NEWSBOT_TELEGRAM_BASE_URL"),
        ("NEWSBOT_MAX_FILE_MB", "-3", "NEWSBOT_MAX_FILE_MB"),
    ],
)
def test_bad_value_names_the_variable(
    variable: str, value: str, expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(expected + ":")
    assert "\n" not in message


def test_bad_value_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "NEWSBOT_ADMIN_IDS": "not-a-number", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--corpus", str(REPO / "corpus")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "NEWSBOT_ADMIN_IDS" in lines[0]
    assert "Traceback" not in result.stderr


def test_settings_is_the_only_settings_class() -> None:
    assert Settings.model_config.get("env_prefix") == "NEWSBOT_"


def test_relevance_default_is_the_library_default() -> None:
    from bot.core.library import MIN_RELEVANCE

    assert Settings.model_fields["min_relevance"].default == MIN_RELEVANCE


def test_a_misspelled_variable_is_named_with_the_setting_it_resembles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEWSBOT_* names that are no setting, in the environment or in .env, are reported with the
    closest real name, instead of being ignored in silence."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_LOG_LEVLE", "DEBUG")
    monkeypatch.setenv("NEWSBOT_ADMIN_IDS", "1")  # a real one: not reported
    (tmp_path / ".env").write_text("NEWSBOT_CORPUS_DIRR=news\nNEWSBOT_FROBNICATE=yes\nOTHER=1\n")
    warnings = unknown_variables()
    assert warnings == [
        "NEWSBOT_LOG_LEVLE (environment) is not a setting; did you mean NEWSBOT_LOG_LEVEL?",
        "NEWSBOT_CORPUS_DIRR (.env) is not a setting; did you mean NEWSBOT_CORPUS_DIR?",
        "NEWSBOT_FROBNICATE (.env) is not a setting and is ignored (see .env.example)",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "topics", "--corpus", str(REPO / "corpus")],
        cwd=tmp_path,
        env={**os.environ, "NEWSBOT_SNAPSHOT_DIR": str(tmp_path / "snapshots")},
        capture_output=True,
        text=True,
    )
    assert "newsbot: warning: NEWSBOT_LOG_LEVLE (environment) is not a setting" in result.stderr
    assert "did you mean NEWSBOT_CORPUS_DIR?" in result.stderr


def test_snapshots_default_to_the_users_cache_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-only commands run from anywhere must not leave data/snapshots behind in that directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert load_settings().snapshot_dir == tmp_path / "cache" / "newsbot" / "snapshots"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_settings().snapshot_dir == tmp_path / "home" / ".cache" / "newsbot" / "snapshots"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "Sora", "--json", "--corpus", str(REPO / "corpus")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert list(work.iterdir()) == []
    assert any((tmp_path / "cache" / "newsbot" / "snapshots").iterdir())


def test_polling_is_the_default_and_webhook_mode_follows_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert not settings.webhook
    assert (settings.listen_host, settings.listen_port, settings.metrics_port) == ("127.0.0.1", 8443, None)
    monkeypatch.setenv("NEWSBOT_WEBHOOK_URL", " https://bot.example.org/telegram ")
    monkeypatch.setenv("NEWSBOT_WEBHOOK_SECRET", "s3cret_Value-1")
    settings = load_settings()
    assert settings.webhook
    assert settings.webhook_url == "https://bot.example.org/telegram"
    assert "s3cret_Value-1" not in repr(settings)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "NEWSBOT_WEBHOOK_SECRET: required when NEWSBOT_WEBHOOK_URL is set"),
        ("has space", "NEWSBOT_WEBHOOK_SECRET: must be 1-256 characters"),
        ("x" * 257, "NEWSBOT_WEBHOOK_SECRET: must be 1-256 characters"),
        ("dots.are.not.allowed", "NEWSBOT_WEBHOOK_SECRET: must be 1-256 characters"),
    ],
)
def test_a_webhook_needs_a_secret_telegram_accepts(
    secret: str | None, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_WEBHOOK_URL", "https://bot.example.org/telegram")
    if secret is not None:
        monkeypatch.setenv("NEWSBOT_WEBHOOK_SECRET", secret)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(problem)
    if secret is not None:
        assert secret not in str(caught.value)  # a secret is never echoed, not even a malformed one


def test_a_webhook_url_must_be_a_web_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_WEBHOOK_URL", "bot.example.org/telegram")
    monkeypatch.setenv("NEWSBOT_WEBHOOK_SECRET", "abc")
    with pytest.raises(SettingsError, match=r"^NEWSBOT_WEBHOOK_URL: must start with https://"):
        load_settings()


def test_a_postgresql_url_is_kept_as_text_and_a_path_stays_a_sqlite_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_DATABASE", "postgresql://newsbot:hunter2@127.0.0.1:5432/newsbot")
    settings = load_settings()
    assert settings.postgres_dsn == "postgresql://newsbot:hunter2@127.0.0.1:5432/newsbot"
    assert settings.sqlite_path is None
    monkeypatch.setenv("NEWSBOT_DATABASE", "data/bot.sqlite3")
    settings = load_settings()
    assert settings.sqlite_path == Path("data/bot.sqlite3") and settings.postgres_dsn is None
    monkeypatch.setenv("NEWSBOT_DATABASE", "mysql://root:hunter2@db/newsbot")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("NEWSBOT_DATABASE:") and "hunter2" not in str(caught.value)
