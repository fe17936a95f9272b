"""Measuring tools for the benchmark: a forked child per system (so each one's peak RSS is its own),
latency summaries and a one-line description of the machine.

Linux only for the memory figures (/proc); elsewhere they are reported as null.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import platform
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Result = dict[str, Any]


def machine() -> str:
    """CPU model, cores, memory, Python and numpy versions, in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GB RAM"
    except (OSError, ValueError):
        pass
    load = ""
    with contextlib.suppress(OSError):
        load = f", load average {os.getloadavg()[0]:.1f} at start"
    return (
        f"{model}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}{load}"
    )


def _status(field: str) -> int | None:
    """A VmRSS/VmHWM-style field of /proc/self/status, in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak() -> int | None:
    """Reset this process's peak RSS to its current RSS (Linux); returns the RSS in bytes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status("VmRSS")


def peak_growth_mb(baseline: int | None) -> float | None:
    """How far the peak RSS rose above `baseline` bytes, in MB."""
    peak = _status("VmHWM")
    if baseline is None or peak is None:
        return None
    return round((peak - baseline) / 2**20, 1)


def in_child(work: Callable[[], Result]) -> Result:
    """Run work() in a forked child (sharing the parent's data without copying) and return its result.

    The child's peak RSS is reset first, so `work` can report what it alone allocated. A failure in the
    child comes back as {"error": "..."} instead of an exception.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        try:
            result = work()
        except BaseException as error:  # report anything, even MemoryError, to the parent
            result = {"error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc(limit=4)}
        sender.send(result)
        sender.close()

    process = context.Process(target=child, daemon=True)
    process.start()
    sender.close()
    try:
        result: Result = receiver.recv()
    except EOFError:
        result = {"error": f"the child process died (exit code {process.exitcode})"}
    process.join()
    return result


def latencies(seconds: Sequence[float]) -> Result:
    """p50/p99/mean/max in milliseconds and queries per second of one-at-a-time latencies."""
    if not seconds:
        return {"queries": 0, "p50_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None, "qps": None}
    values = np.asarray(seconds, dtype=np.float64) * 1000
    return {
        "queries": len(values),
        "p50_ms": round(float(np.percentile(values, 50)), 4),
        "p99_ms": round(float(np.percentile(values, 99)), 4),
        "mean_ms": round(float(values.mean()), 4),
        "max_ms": round(float(values.max()), 4),
        "qps": round(1000 * len(values) / float(values.sum()), 1) if values.sum() > 0 else None,
    }
