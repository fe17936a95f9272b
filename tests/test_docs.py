"""Docs are tested: .env.example lists exactly the Settings fields; the README documents every command."""

from __future__ import annotations

import re

from bot.cli import build_parser
from bot.settings import Settings
from tests.conftest import REPO


def _env_example_names() -> list[str]:
    text = (REPO / ".env.example").read_text()
    return re.findall(r"^(NEWSBOT_[A-Z0-9_]+)=", text, flags=re.MULTILINE)


def test_env_example_matches_settings() -> None:
    fields = {"NEWSBOT_" + name.upper() for name in Settings.model_fields}
    listed = _env_example_names()
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    assert set(listed) == fields


def test_every_env_example_entry_has_a_comment() -> None:
    lines = (REPO / ".env.example").read_text().splitlines()
    for number, line in enumerate(lines):
        if line.startswith("NEWSBOT_"):
            assert number > 0 and lines[number - 1].startswith("#"), f"{line} has no comment above it"


def test_readme_settings_table_lists_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`NEWSBOT_{name.upper()}`" in readme


def test_readme_documents_every_cli_command() -> None:
    readme = (REPO / "README.md").read_text()
    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert subcommands
    for name in subcommands:
        assert f"newsbot {name}" in readme, f"`newsbot {name}` is not in the README"


def test_readme_commands_match_makefile() -> None:
    readme = (REPO / "README.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE)
    assert "make test" in ci


def test_readme_command_table_matches_the_bot() -> None:
    from bot.commands import COMMANDS

    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- commands:start -->")[1].split("<!-- commands:end -->")[0]
    listed = re.findall(r"^\| `/([a-z_]+)", table, flags=re.MULTILINE)
    assert listed == [command.name for command in COMMANDS]
    for command in COMMANDS:
        assert f"`{command.example}`" in table


def test_help_text_lists_every_command() -> None:
    from bot.commands import COMMANDS
    from bot.render import html, messages

    text = messages.help_text(COMMANDS, is_admin=True)
    for command in COMMANDS:
        assert f"/{command.name}" in text
        assert html.escape(command.example) in text


def test_make_run_passes_args_on() -> None:
    """`make run ARGS="--port 8081"` hands the options to the command it starts (bot or playground)."""
    import subprocess

    result = subprocess.run(
        ["make", "-n", "run", "ARGS=--port 8081"], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("--port 8081") == 2  # newsbot run … and newsbot playground …


def test_the_license_is_an_spdx_expression() -> None:
    """PEP 639: `license = { text = … }` is deprecated and every install warned about it."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert any(req.startswith("setuptools>=77") for req in project["build-system"]["requires"])
