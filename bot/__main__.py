"""`python -m bot` runs the `newsbot` command line, or says how to get its dependencies when this Python
lacks them (the system Python, not the project's .venv)."""

import sys


def _missing_dependencies(error: ModuleNotFoundError) -> int:
    print(
        f"newsbot: this Python ({sys.executable}) does not have newsbot's dependencies "
        f"({error.name} is missing).\n"
        "Run `make install` in the newsbot directory (`make run` does it too), then use "
        "`.venv/bin/newsbot …` or activate the environment first: `. .venv/bin/activate`.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must run on the Python that is too old
        print(
            f"newsbot: needs Python 3.11 or newer, this is {sys.version.split()[0]} ({sys.executable}); "
            "run `make install` and use `.venv/bin/newsbot …`",
            file=sys.stderr,
        )
        raise SystemExit(2)
    try:
        from bot.cli import main
    except ModuleNotFoundError as missing:
        raise SystemExit(_missing_dependencies(missing)) from None
    raise SystemExit(main())
