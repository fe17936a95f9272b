"""Settings: parsing of every kind of value, and one-line errors that exit with code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings
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
