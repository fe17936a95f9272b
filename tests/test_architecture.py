"""The dependency rule: bot.core imports nothing from telegram, aiosqlite, asyncio or pydantic."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

FORBIDDEN = ("telegram", "aiosqlite", "asyncio", "pydantic", "pydantic_settings", "aiohttp", "httpx")


def test_core_imports_no_framework_modules() -> None:
    core = REPO / "bot" / "core"
    core_modules = sorted(
        ".".join(("bot", "core", *path.relative_to(core).with_suffix("").parts)).removesuffix(".__init__")
        for path in core.rglob("*.py")
    )
    expected = {"bot.core.corpus.scan", "bot.core.text", "bot.core.index", "bot.core.library"}
    assert expected <= set(core_modules)
    program = (
        "import importlib, json, sys\n"
        f"for name in {core_modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    offending = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert offending == []


def test_render_is_pure() -> None:
    program = "import bot.render, sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=True
    )
    offending = [m for m in json.loads(out.stdout) if m.split(".")[0] in FORBIDDEN]
    assert offending == []


def test_no_utils_module() -> None:
    assert not list((REPO / "bot").rglob("utils.py"))
