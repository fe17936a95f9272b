"""The house rules, as a table: which package may import what, checked on every module's imports.

Each module under bot/ is parsed (imports inside functions count too) and its imports are checked
against IMPORT_RULES (a library only where it belongs) and LAYER_RULES (what a package must not reach
for). The core and rendering are also imported in a fresh interpreter, so nothing forbidden sneaks in
through another module.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BOT = REPO / "bot"

# A library imported outside the packages named here breaks the architecture.
IMPORT_RULES: dict[str, tuple[str, ...]] = {
    "telegram": ("bot.tg",),  # python-telegram-bot: the Telegram side only
    "aiosqlite": ("bot.store",),  # every SQL statement lives in the store
    "sqlite3": ("bot.store",),
    "asyncpg": ("bot.store",),  # the PostgreSQL driver: the store's too
    "aiohttp": ("bot.sources", "bot.standin", "bot.playground", "bot.ops"),  # the fetcher; local servers
    "prometheus_client": ("bot.ops",),  # the metrics and their exposition
    "tornado": (),  # python-telegram-bot's webhook server, never ours
    "httpx": (),  # python-telegram-bot's own transport, never ours
    "trafilatura": ("bot.sources",),  # reading article pages
    "charset_normalizer": ("bot.sources",),
    "feedparser": ("bot.core",),  # feeds are parsed by the pure core, from bytes
    "urllib.request": (),  # nothing opens URLs but the fetcher's client
    "pydantic_settings": ("bot.settings",),
    "pydantic": ("bot.settings", "bot.playground"),  # settings, and the playground's copy of them
    "apscheduler": (),  # reached through python-telegram-bot's JobQueue only
}

IO_AND_ASYNC = frozenset(
    {"asyncio", "aiosqlite", "asyncpg", "sqlite3", "telegram", "aiohttp", "httpx", "socket", "subprocess"}
    | {"multiprocessing", "pydantic", "pydantic_settings", "urllib.request", "http.client"}
)

# What a package must not import (libraries, or other parts of the bot).
LAYER_RULES: dict[str, frozenset[str]] = {
    "bot.core": IO_AND_ASYNC
    | {"bot.tg", "bot.store", "bot.render", "bot.runtime", "bot.compose", "bot.settings", "bot.standin"},
    "bot.render": IO_AND_ASYNC | {"bot.tg", "bot.store", "bot.runtime", "bot.compose", "bot.settings"},
    "bot.store": frozenset({"telegram", "bot.tg", "bot.render", "bot.runtime", "bot.compose"}),
    "bot.runtime": frozenset({"telegram", "bot.tg", "bot.render", "bot.compose"}),
    "bot.standin": frozenset({"telegram", "bot.tg", "bot.store", "bot.core", "bot.runtime", "bot.compose"}),
    "bot.settings": frozenset({"telegram", "bot.tg", "bot.store", "bot.core", "bot.runtime"}),
    "bot.sources": frozenset({"telegram", "bot.tg", "bot.render", "bot.runtime", "bot.compose"}),
}

# aiohttp is both a server (the stand-in, the playground) and a client: only bot.sources may be a client.
HTTP_CLIENT_NAMES = frozenset({"ClientSession", "TCPConnector", "request"})
HTTP_CLIENT_HOMES = ("bot.sources",)


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the code (lazy imports in functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def within(name: str, packages: tuple[str, ...] | frozenset[str]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


MODULES = {module_name(path): imports_of(path) for path in sorted(BOT.rglob("*.py"))}


def test_the_table_sees_every_package() -> None:
    packages = {name.split(".")[1] for name in MODULES if name.count(".") >= 1}
    assert {"core", "store", "render", "tg", "standin", "playground", "sources"} <= packages
    assert "bot.tg.handlers.answers" in MODULES and "bot.core.corpus.scan" in MODULES


@pytest.mark.parametrize("library", sorted(IMPORT_RULES))
def test_a_library_is_imported_only_where_it_belongs(library: str) -> None:
    allowed = IMPORT_RULES[library]
    offending = sorted(
        module
        for module, imported in MODULES.items()
        if any(within(name, (library,)) for name in imported) and not within(module, allowed)
    )
    assert offending == [], f"{library} may be imported only under {allowed or 'nothing in bot/'}"


@pytest.mark.parametrize("package", sorted(LAYER_RULES))
def test_a_package_keeps_to_its_layer(package: str) -> None:
    forbidden = LAYER_RULES[package]
    offending = sorted(
        f"{module} imports {name}"
        for module, imported in MODULES.items()
        if within(module, (package,))
        for name in imported
        if within(name, forbidden)
    )
    assert offending == []


def test_only_sources_is_an_http_client() -> None:
    """No module outside bot.sources makes an aiohttp client session (the fetcher's guard would be
    bypassed: private addresses, size caps, redirects)."""
    offending = []
    for path in sorted(BOT.rglob("*.py")):
        name = module_name(path)
        if within(name, HTTP_CLIENT_HOMES):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            attribute = node.attr if isinstance(node, ast.Attribute) else None
            if attribute in HTTP_CLIENT_NAMES and isinstance(node, ast.Attribute):
                base = node.value
                if isinstance(base, ast.Name) and base.id == "aiohttp":
                    offending.append(f"{name}:{node.lineno} aiohttp.{attribute}")
            if isinstance(node, ast.ImportFrom) and node.module == "aiohttp":
                offending += [
                    f"{name}:{node.lineno} from aiohttp import {alias.name}"
                    for alias in node.names
                    if alias.name in HTTP_CLIENT_NAMES
                ]
    assert offending == []


FRESH_FORBIDDEN = (
    "telegram",
    "aiosqlite",
    "asyncpg",
    "asyncio",
    "pydantic",
    "pydantic_settings",
    "aiohttp",
    "httpx",
    "trafilatura",
)


@pytest.mark.parametrize("package", ["bot.core", "bot.render"])
def test_pure_packages_pull_in_nothing_forbidden(package: str) -> None:
    """Importing every module of the package in a fresh interpreter loads none of the I/O libraries,
    not even through a module it imports."""
    names = sorted(name for name in MODULES if within(name, (package,)))
    program = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if m.split(".")[0] in FRESH_FORBIDDEN] == []


# A Telegram HTML tag in a string: building markup, which only bot.render does.
HTML_TAG = re.compile(r"</?(?:b|i|u|s|a|code|pre|blockquote|tg-spoiler)(?:\s[^<>]*)?>")
HTML_HOMES = ("bot.render", "bot.standin", "bot.playground")  # the renderer, and Telegram's and the page's


def test_only_render_writes_telegram_html() -> None:
    offending = []
    for path in sorted(BOT.rglob("*.py")):
        name = module_name(path)
        if within(name, HTML_HOMES):
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        offending += [
            f"{name}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and HTML_TAG.search(node.value)
        ]
    assert offending == []


def test_no_utils_module() -> None:
    assert not [path for path in BOT.rglob("*.py") if path.stem in ("utils", "helpers", "misc")]


def test_every_module_says_what_it_does() -> None:
    missing = [
        name for name, path in ((module_name(p), p) for p in BOT.rglob("*.py")) if not _docstring(path)
    ]
    assert missing == []


def _docstring(path: Path) -> str | None:
    return ast.get_docstring(ast.parse(path.read_text()))
