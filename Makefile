# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Each creates .venv (if missing) and installs the project with what it needs.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# The search kernels compiled ahead into numba's on-disk cache (about 30 s, once), so the first start
	@# has them ready in under a second instead of compiling them in the background for half a minute.
	$(BIN)/python -c "from bot.core import kernels; kernels.compiled()"
	touch $(STAMP)

install: $(STAMP)

# With a token (NEWSBOT_TELEGRAM_TOKEN in the environment or .env) this runs the bot on Telegram; without
# one it starts the local playground: the same bot in a browser chat on http://127.0.0.1:8080/.
# Options go through ARGS: make run ARGS="--port 8081" or ARGS="--corpus ~/news".
ARGS ?=
run: $(STAMP)
	@if $(BIN)/python -m bot.quickstart has-token; then \
		exec $(BIN)/newsbot run $(ARGS); \
	else \
		echo "No NEWSBOT_TELEGRAM_TOKEN configured: starting the local playground instead, the real bot in a browser chat on 127.0.0.1 (see README, 'Playground'; 'Running on Telegram' for a token)."; \
		exec $(BIN)/newsbot playground $(ARGS); \
	fi

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy bot tests

# The benchmarks' peers (bm25s, …) come with the bench extra.
$(VENV)/.bench-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $@

bench: $(VENV)/.bench-stamp
	$(BIN)/python -m bench
	$(BIN)/python -m bench.answers

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
