"""Figures of the reliability suite: tests add to plain counters here; conftest prints them at the end.

One module-level dict, so any test (in-process or driving subprocesses) can report what it injected and
what came of it. Nothing here asserts; the tests do. Must not import the bot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

# Insertion-ordered; printed in this order, then any faults by kind.
FIGURES: dict[str, int] = {}
FAULTS: dict[str, int] = {}

ORDER = (
    "kills survived",
    "alerts expected",
    "alerts delivered",
    "alerts duplicated",
    "alerts lost",
    "updates sent through faults",
    "updates processed twice",
    "updates skipped",
    "sends while told to wait",
    "hostile inputs tried",
    "handler exceptions",
    "invalid replies",
    "forged callbacks refused",
    "corpus files fuzzed",
    "access checks refused",
)


class _Injected(Protocol):
    """What bot.standin.Fault offers (kept structural so this module does not import the stand-in)."""

    @property
    def kind(self) -> str: ...

    @property
    def hits(self) -> int: ...


class _Config(Protocol):
    def getoption(self, name: str) -> object: ...


def scaled(config: _Config, default: int, long: int) -> int:
    """A size for the default run, or for `pytest --long`."""
    return long if config.getoption("--long") else default


def add(name: str, amount: int = 1) -> None:
    """Add to one figure (created at 0 on first use, so a 0 is printed too)."""
    FIGURES[name] = FIGURES.get(name, 0) + amount


def fault(kind: str, amount: int = 1) -> None:
    """Count faults of one kind that really happened (hit the bot), not merely ones that were armed."""
    FAULTS[str(kind)] = FAULTS.get(str(kind), 0) + amount


def faults_hit(faults: Iterable[_Injected]) -> int:
    """Count the stand-in faults that were hit, by kind; returns how many hits there were in all."""
    total = 0
    for injected in faults:
        if injected.hits:
            fault(injected.kind, injected.hits)
            total += injected.hits
    return total


def alerts(expected: int, delivered: int, duplicated: int, lost: int) -> None:
    """Add one scenario's alert outcome."""
    add("alerts expected", expected)
    add("alerts delivered", delivered)
    add("alerts duplicated", duplicated)
    add("alerts lost", lost)


def summary_lines() -> list[str]:
    """The figures as a small two-column table, or nothing when no reliability test ran."""
    if not FIGURES and not FAULTS:
        return []
    rows = [(name, FIGURES[name]) for name in ORDER if name in FIGURES]
    rows += [(name, value) for name, value in FIGURES.items() if name not in ORDER]
    if FAULTS:
        rows.append(("faults injected", sum(FAULTS.values())))
        rows += [(f"  {kind}", count) for kind, count in sorted(FAULTS.items())]
    width = max(len(name) for name, _ in rows)
    return [f"{name:<{width}}  {value:>8,}" for name, value in rows]
