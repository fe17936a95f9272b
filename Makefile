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
	touch $(STAMP)

install: $(STAMP)

# With a token (NEWSBOT_TELEGRAM_TOKEN in the environment or .env) this runs the bot; without one it
# answers a sample question from the bundled corpus and says how to configure the bot.
run: $(STAMP)
	@if $(BIN)/python -m bot.quickstart has-token; then \
		exec $(BIN)/newsbot run; \
	else \
		echo "No NEWSBOT_TELEGRAM_TOKEN configured: answering a sample question instead (see README, 'Running on Telegram')."; \
		$(BIN)/newsbot ask "How much money was Sora losing every day?"; \
	fi

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy bot

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
