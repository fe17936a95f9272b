"""What the compiled search path adds to a fresh start: each figure from a new interpreter (not a fork, which
would inherit compiled code), with numba's cache as the bot finds it (warm) and with an empty one (cold).

- ready_s: importing numba and loading (warm) or compiling (cold) the kernels, waited for on its own.
- load_s, first_search_ms: loading a snapshot and answering one question right away, as a restarted bot
  does; that first search starts preparing the kernels in the background, so the first answers use
  numpy until they are ready (ranking identically), and `first_compiled` says which path answered.
- kernels_ready_s: from the start of the load until the kernels were ready.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.measure import Result

REPO = Path(__file__).resolve().parents[1]

_READY = """
import json, time
began = time.perf_counter()
from bot.core import kernels
made = kernels.compiled()
print(json.dumps({"ready_s": round(time.perf_counter() - began, 3), "compiled": made is not None}))
"""

_FIRST = """
import json, sys, time
from pathlib import Path
began = time.perf_counter()
from bot.core import kernels
from bot.core.snapshot import load_snapshot
library = load_snapshot(Path(sys.argv[1]))
load_s = time.perf_counter() - began
first_compiled = kernels.ready() is not None
asked = time.perf_counter()
library.search(sys.argv[2])
first_ms = (time.perf_counter() - asked) * 1000
kernels.compiled()
ready_s = time.perf_counter() - began
asked = time.perf_counter()
library.search(sys.argv[3])
second_ms = (time.perf_counter() - asked) * 1000
print(json.dumps({"load_s": round(load_s, 3), "first_search_ms": round(first_ms, 2),
                  "first_compiled": first_compiled, "kernels_ready_s": round(ready_s, 3),
                  "second_search_ms": round(second_ms, 2)}))
"""


def _child(program: str, *arguments: str, cache_dir: str | None = None) -> Result:
    environment = dict(os.environ)
    if cache_dir is not None:
        environment["NUMBA_CACHE_DIR"] = cache_dir
    done = subprocess.run(
        [sys.executable, "-c", program, *arguments],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or f"exit code {done.returncode}"}
    result: Result = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_startup(snapshot: Path | None, questions: list[str]) -> Result:
    """Start-up figures, warm cache then cold; with a snapshot, also the first answers after a load."""
    result: Result = {}
    _child(_READY)  # fill the cache the bot uses, should this checkout not have run the kernels yet
    result["warm"] = _child(_READY)
    with tempfile.TemporaryDirectory(prefix="newsbot-numba-") as empty:
        result["cold"] = _child(_READY, cache_dir=empty)
    if snapshot is not None and len(questions) >= 2:
        result["first_answer_warm"] = _child(_FIRST, str(snapshot), questions[0], questions[1])
        with tempfile.TemporaryDirectory(prefix="newsbot-numba-") as empty:
            result["first_answer_cold"] = _child(
                _FIRST, str(snapshot), questions[0], questions[1], cache_dir=empty
            )
    return result
