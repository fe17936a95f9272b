"""The `newsbot` command line: parses arguments, builds Settings and hands them on — to the library for
ask/related/brief/topics/check (the corpus plus the articles stored from sources), to the composition root
(bot/compose.py) for run, to the poller for fetch and sources, to the playground.

Nothing else in the package reads settings or the environment; everything is passed in from here.
`--json` outputs are a contract other programs rely on (see README, "CLI").
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.core.briefs import Brief, parse_period
from bot.core.library import Library, load_library
from bot.core.models import Article, Hit
from bot.core.related import related_to_article
from bot.settings import Settings, SettingsError, load_settings, unknown_variables

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A command cannot go on: one line for the user (stderr, and the JSON `error` with --json)."""

    def __init__(
        self, message: str, code: int = EXIT_PROBLEMS, payload: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.payload = payload or {}  # what the command's JSON holds besides the error


class ProgressBar:
    """A tqdm bar on stderr that only appears when loading takes longer than about a second."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bars: dict[str, Any] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        from tqdm import tqdm  # imported lazily: only commands that load a corpus need it

        bar = self._bars.get(phase)
        if bar is None:
            bar = tqdm(
                total=total,
                desc=phase,
                unit="file" if phase == "loading" else "article",
                file=self._stream,
                delay=1.0,
                leave=False,
                dynamic_ncols=True,
            )
            self._bars[phase] = bar
        bar.update(max(0, done - bar.n))  # tqdm itself stays hidden until `delay` has passed
        if done >= total:
            bar.close()

    def close(self) -> None:
        """Close any bar still open."""
        for bar in self._bars.values():
            bar.close()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="newsbot", description="Newsbot: a Telegram news assistant over a BM25-indexed news archive."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--corpus", type=Path, metavar="DIR", help="corpus directory (default: NEWSBOT_CORPUS_DIR)"
        )
        return sub

    ask = add("ask", "Answer a question from the archive with cited snippets.")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument(
        "--limit", type=_positive_int, default=3, metavar="N", help="how many articles (default 3)"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    related = add("related", "Articles related to one article.")
    related.add_argument("article_id", metavar="ARTICLE_ID")
    related.add_argument(
        "--limit", type=_positive_int, default=3, metavar="N", help="how many articles (default 3)"
    )
    related.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    brief = add(
        "brief", "The period's top stories on a topic or keywords, in sentences quoted from the articles."
    )
    brief.add_argument("subject", nargs="+", metavar="TOPIC", help="a topic's slug or name, or keywords")
    brief.add_argument(
        "--period",
        type=_period,
        default="24h",
        metavar="24h|7d",
        help="how far back from now to look (default 24h)",
    )
    brief.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    topics = add("topics", "List the tracked topics with their article counts.")
    topics.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    add("run", "Run the Telegram bot (long polling) until SIGINT/SIGTERM.")

    check = add("check", "Load the corpus and topics, report counts and problems (exit 1 if any problem).")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    fetch = add("fetch", "Fetch the sources: every one once (--once), or each on its schedule until Ctrl+C.")
    fetch.add_argument("--once", action="store_true", help="fetch every source once, report and exit")
    fetch.add_argument("--json", action="store_true", help="with --once: print one JSON object")

    sources = add("sources", "List the sources (the sources file and those added in chat) with their health.")
    sources.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    playground = add(
        "playground",
        "Run the real bot against a local Telegram stand-in with a browser chat page; no token needed.",
    )
    playground.add_argument(
        "--port", type=_port, default=8080, metavar="PORT", help="port of the chat page (default 8080)"
    )
    playground.add_argument(
        "--host",
        metavar="HOST",
        help="interface to serve the page on (default 127.0.0.1; any other is served with a warning)",
    )
    return parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535")
    return value


def _period(text: str) -> timedelta:
    period = parse_period(text)
    if period is None:
        raise argparse.ArgumentTypeError(f"not a period: {text!r} (24h or 7d)")
    return period


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsbot` console script and `python -m bot`."""
    args = build_parser().parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    try:
        try:
            overrides: dict[str, Any] = {}
            if getattr(args, "corpus", None) is not None:
                overrides["corpus_dir"] = args.corpus
            settings = load_settings(**overrides)
        except SettingsError as error:
            raise CliError(str(error), EXIT_USAGE) from None
        for warning in unknown_variables():
            print(f"newsbot: warning: {warning}", file=sys.stderr)
        return _COMMANDS[args.command](args, settings)
    except CliError as error:
        return _fail(error, as_json)
    except BrokenPipeError:
        # `newsbot ask … | head` closing the pipe early is not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:
        if not as_json:
            raise
        # Programs reading --json get JSON whatever happens; the traceback goes to stderr for a human.
        import traceback

        traceback.print_exc(file=sys.stderr)
        return _fail(CliError(f"internal error: {type(error).__name__}: {error}"), as_json)


def _fail(error: CliError, as_json: bool) -> int:
    """Report a failed command: one line on stderr, and with --json the command's JSON with `error`."""
    print(f"newsbot: {error.message}", file=sys.stderr)
    if as_json:
        _print_json({**error.payload, "error": error.message})
    return error.code


def open_library(settings: Settings, *, fresh: bool = False) -> Library:
    """The archive: the configured corpus (from its snapshot when unchanged, unless `fresh`) and the
    articles stored from sources, with a progress bar on stderr when loading is slow."""
    from bot.core.archive import extend_library
    from bot.runtime import load_configured_library

    require_corpus(settings)
    bar = ProgressBar(sys.stderr)
    try:
        if fresh:
            library = load_library(
                settings.corpus_dir,
                settings.topics_path,
                max_file_bytes=settings.max_file_bytes,
                progress=bar,
            )
            library = library.updated(min_relevance=settings.min_relevance)
        else:
            library = load_configured_library(settings, progress=bar)
    finally:
        bar.close()
    return extend_library(library, stored_articles(settings))


def stored_articles(settings: Settings) -> list[Article]:
    """The articles stored from sources in the configured database (none when it does not exist yet);
    a database that cannot be read is said on stderr, and the corpus alone answers."""
    import asyncio

    from bot.store import Store, StoreError

    if isinstance(settings.database, Path) and not settings.database.is_file():
        return []

    async def read() -> list[Article]:
        async with await Store.open(settings.database) as store:
            articles, _ = await store.sources.articles()
            return articles

    try:
        return asyncio.run(read())
    except StoreError as error:
        print(
            f"newsbot: the fetched articles could not be read, using the corpus only: {error}",
            file=sys.stderr,
        )
        return []


def corpus_missing(settings: Settings) -> str | None:
    """Why the configured corpus directory cannot be used, saying how to point at one; None if it can."""
    corpus = settings.corpus_dir
    if corpus.is_dir():
        return None
    shown = corpus if corpus.is_absolute() else Path.cwd() / corpus
    return (
        f"corpus directory not found: {shown}; point at your articles with --corpus DIR or "
        "NEWSBOT_CORPUS_DIR (in the environment or .env)"
    )


def require_corpus(settings: Settings) -> None:
    """Raise CliError if the configured corpus directory cannot be used."""
    missing = corpus_missing(settings)
    if missing is not None:
        raise CliError(missing)


def load_with_progress(settings: Settings) -> Library:
    """The bot's loader: the configured corpus (snapshot when unchanged), with a progress bar on stderr."""
    from bot.runtime import load_configured_library

    bar = ProgressBar(sys.stderr)
    try:
        return load_configured_library(settings, progress=bar)
    finally:
        bar.close()


def hit_json(hit: Hit) -> dict[str, Any]:
    """The JSON object for one result, as documented in the README."""
    article = hit.article
    return {
        "article_id": article.id,
        "title": article.title,
        "url": article.url,
        "source": article.source,
        "published": article.published.isoformat() if article.published else None,
        "score": round(hit.score, 6),
        "snippet": hit.snippet.text,
        "highlights": [list(span) for span in hit.snippet.spans],
        "topics": list(hit.topics),
    }


def _print_json(payload: dict[str, Any]) -> None:
    json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _highlighted(hit: Hit, colour: bool) -> str:
    if not colour:
        # Without colour, mark matches with asterisks so the highlight is still visible in plain text.
        open_mark, close_mark = "*", "*"
    else:
        open_mark, close_mark = "\x1b[1;33m", "\x1b[0m"
    text, pieces, position = hit.snippet.text, [], 0
    for start, end in hit.snippet.spans:
        pieces.append(text[position:start] + open_mark + text[start:end] + close_mark)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _print_hits(hits: Sequence[Hit]) -> None:
    colour = _use_colour()
    bold, reset = ("\x1b[1m", "\x1b[0m") if colour else ("", "")
    for number, hit in enumerate(hits, start=1):
        article = hit.article
        meta = " · ".join(
            part
            for part in (article.source, article.published.date().isoformat() if article.published else None)
            if part
        )
        print(f"{number}. {bold}{article.title}{reset}  [{article.id}]")
        if meta:
            print(f"   {meta}")
        print(f"   {_highlighted(hit, colour)}")
        if article.url:
            print(f"   {article.url}")
        print()


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot ask`: the best articles for a question."""
    from bot.render.messages import unknown_words_line  # (its wording is the bot's)

    library = open_library(settings)
    result = library.search(args.question, limit=args.limit)
    if args.json:
        _print_json({"query": args.question, "results": [hit_json(hit) for hit in result.hits]})
    elif not result.hits:
        print(f"Nothing in the archive matches “{args.question}”.")
        if result.unknown:
            print(unknown_words_line(result.unknown))
        print(result.hint or "Try other words, or `newsbot topics` to see what the archive covers.")
    else:
        if result.unknown or result.stand_ins:
            print(unknown_words_line(result.unknown, result.stand_ins), end="\n\n")
        _print_hits(result.hits)
    return EXIT_OK


def cmd_related(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot related`: articles related to one article."""
    library = open_library(settings)
    if library.article(args.article_id) is None:
        raise CliError(
            f"no article with id {args.article_id!r} (see `newsbot check`)",
            payload={"article_id": args.article_id, "results": []},
        )
    hits = related_to_article(library, args.article_id, limit=args.limit)
    if args.json:
        _print_json({"article_id": args.article_id, "results": [hit_json(hit) for hit in hits]})
    elif not hits:
        print("No related articles in the archive.")
    else:
        _print_hits(hits)
    return EXIT_OK


def cmd_brief(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot brief`: the period's top stories on a topic or words, in quoted sentences."""
    from bot.core.briefs import briefing, period_word
    from bot.render.briefs import period_words

    subject = " ".join(" ".join(args.subject).split())
    library = open_library(settings)
    found = briefing(library, subject, now=datetime.now(UTC), period=args.period)
    result = found.brief
    if args.json:
        _print_json(
            {
                "query": subject,
                "topic": found.topic.slug if found.topic is not None else None,
                "period": period_word(found.period),
                "since": result.since.isoformat(),
                "until": result.until.isoformat(),
                "stories": _brief_json(result),
            }
        )
        return EXIT_OK
    words = period_words(found.period)
    if result.empty:
        wider = found.wider
        if wider is not None and not wider.empty:
            count = len(wider.stories)
            again = found.topic.slug if found.topic is not None else json.dumps(subject, ensure_ascii=False)
            print(f"Nothing in the last {words} on “{found.subject}”.")
            print(
                f"The last 7 days hold {count} {'story' if count == 1 else 'stories'}: "
                f"newsbot brief {again} --period 7d"
            )
            return EXIT_OK
        looked = wider or result  # the longest look taken, and it found nothing
        print(f"Nothing in the last {period_words(looked.until - looked.since)} on “{found.subject}”.")
        if found.newest is None:
            print("Briefs are made of dated articles, and the archive has none.")
        elif found.newest <= looked.since:
            print(f"The archive's newest article is from {found.newest.date().isoformat()}.")
        return EXIT_OK
    colour = _use_colour()
    bold, reset = ("\x1b[1m", "\x1b[0m") if colour else ("", "")
    print(f"{bold}Brief: {found.subject}{reset} · the last {words}, in sentences quoted from the articles")
    for number, story in enumerate(result.stories, start=1):
        print()
        print(f"{number}. {bold}{story.headline.title}{reset}  [{story.story_id}]")
        if story.sources:
            print(f"   {', '.join(story.sources)}")
        for item in result.quotes(story):
            article = item.article
            print(f"   “{item.sentence}”")
            said = " · ".join(part for part in (article.source or article.title, article.url) if part)
            print(f"     — {said}")
    return EXIT_OK


def _brief_json(result: Brief) -> list[dict[str, Any]]:
    """The stories of a brief as the README's JSON contract has them."""
    stories = []
    for story in result.stories:
        headline = story.headline
        stories.append(
            {
                "story_id": story.story_id,
                "title": headline.title,
                "url": headline.url,
                "sources": list(story.sources),
                "articles": [article.id for article in story.articles],
                "score": round(story.score, 6),
                "quotes": [
                    {
                        "sentence": item.sentence,
                        "article_id": item.article.id,
                        "source": item.article.source,
                        "url": item.article.url,
                        "published": item.article.published.isoformat() if item.article.published else None,
                        "start": item.start,
                        "end": item.end,
                    }
                    for item in result.quotes(story)
                ],
            }
        )
    return stories


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot topics`: tracked topics and how many articles each has."""
    library = open_library(settings)
    rows = library.topic_counts()
    topics_file = settings.topics_path.name or str(settings.topics_path)
    problems = [problem for problem in library.problems if problem.path == topics_file]
    if args.json:
        _print_json(
            {
                "topics": [
                    {"slug": t.slug, "name": t.name, "aliases": list(t.aliases), "articles": count}
                    for t, count in rows
                ],
                "problems": [{"path": p.path, "line": p.line, "reason": p.reason} for p in problems],
            }
        )
        return EXIT_PROBLEMS if problems else EXIT_OK
    for problem in problems:
        print(f"newsbot: problem: {problem}", file=sys.stderr)
    if not rows and not problems:
        print(f"No topics defined in {settings.topics_path}.")
    width = max((len(topic.slug) for topic, _ in rows), default=4)
    for topic, count in rows:
        noun = "article " if count == 1 else "articles"
        print(f"{topic.slug:<{width}}  {count:>4} {noun}  {topic.name}: {', '.join(topic.aliases)}")
    return EXIT_PROBLEMS if problems else EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot check`: load everything and report problems; exit 1 when there are any."""
    from bot.core.sourcelist import load_sources

    library = open_library(settings, fresh=True)  # a check reads every file again, never a snapshot
    problems = (*library.problems, *load_sources(settings.sources_path)[1])
    if args.json:
        _print_json(
            {
                "articles": library.article_count,
                "passages": len(library.passages),
                "topics": len(library.topics),
                "problems": [{"path": p.path, "line": p.line, "reason": p.reason} for p in problems],
            }
        )
    else:
        print(
            f"{library.article_count} articles, {len(library.passages)} passages, "
            f"{len(library.topics)} topics "
            f"from {settings.corpus_dir} in {library.build_seconds:.2f} s"
        )
        for problem in problems:
            print(f"problem: {problem}")
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return EXIT_PROBLEMS if problems else EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot run`: the Telegram bot, with long polling."""
    import asyncio

    from bot.compose import compose, run
    from bot.logs import configure_logging
    from bot.store import StoreError

    secret = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    if not secret:
        print(
            "newsbot: NEWSBOT_TELEGRAM_TOKEN is not set. Get a token from @BotFather and put it in .env "
            "(see .env.example), or export NEWSBOT_TELEGRAM_TOKEN=...",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from bot.store.postgres import dsn_password

    password = dsn_password(settings.postgres_dsn) if settings.postgres_dsn else None
    configure_logging(settings.log_level, [secret, password or ""])
    require_corpus(settings)

    async def run_bot() -> str | None:
        return await run(await compose(settings, secret, load_with_progress))

    try:
        reason = asyncio.run(run_bot())
    except StoreError as error:
        print(f"newsbot: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return EXIT_OK
    if reason:
        print(f"newsbot: {reason}", file=sys.stderr)
        return EXIT_PROBLEMS
    return EXIT_OK


def cmd_playground(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot playground`: the real bot in a browser chat on 127.0.0.1, no Telegram account needed."""
    from bot.logs import configure_logging
    from bot.playground import run_playground

    configure_logging(settings.log_level)
    require_corpus(settings)

    return run_playground(settings, load_with_progress, host=args.host, port=args.port)


def cmd_fetch(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot fetch`: poll the sources into the database (the bot queues their alerts)."""
    import asyncio

    from bot.logs import configure_logging
    from bot.sources import Poller
    from bot.store import PollStatus, Store, StoreError

    if not args.once:
        configure_logging(settings.log_level)

    async def fetch() -> list[dict[str, Any]]:
        async with await Store.open(settings.database) as store:
            poller = Poller(settings, store)
            if args.once:
                try:
                    return [report.as_json() for report in await poller.poll_all()]
                finally:
                    poller.close()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            print(
                f"newsbot: fetching every source on its schedule into {store.label} (Ctrl+C stops); "
                "a running bot adds new articles to its archive and queues their alerts",
                file=sys.stderr,
            )
            await poller.run(stop)
            return []

    try:
        reports = asyncio.run(fetch())
    except StoreError as error:
        print(f"newsbot: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return EXIT_OK
    if not args.once:
        return EXIT_OK
    total = sum(int(report["new"]) for report in reports)
    if args.json:
        _print_json({"sources": reports, "new": total})
    else:
        if not reports:
            print(f"No sources (looked for {settings.sources_path} and sources added in chat).")
        for report in reports:
            print(f"{report['status']:<12} {report['new']:>5} new  {report['name']}  {report['url']}")
            if report["error"]:
                print(f"             {report['error']}")
        print(f"{total} new article{'s' if total != 1 else ''}")
    failed = any(report["status"] == PollStatus.FAILED for report in reports)
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    """`newsbot sources`: every source with its health."""
    import asyncio

    from bot.sources import Poller
    from bot.store import Source, Store, StoreError

    async def listing() -> tuple[list[Source], list[str]]:
        async with await Store.open(settings.database) as store:
            poller = Poller(settings, store)  # only reads the sources file: no worker is started
            problems = await poller.sync_file(force=True)
            return await store.sources.listed(), [str(problem) for problem in problems]

    try:
        listed, problems = asyncio.run(listing())
    except StoreError as error:
        print(f"newsbot: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.json:
        _print_json({"sources": [_source_json(source) for source in listed], "problems": problems})
        return EXIT_OK
    if not listed:
        print(f"No sources (looked for {settings.sources_path} and sources added in chat).")
    for source in listed:
        origin = "file" if source.origin == "file" else "chat"
        print(f"{source.health:<8} {source.label}  {source.url}")
        when = source.last_success_at.isoformat(timespec="seconds") if source.last_success_at else "never"
        print(
            f"         {origin} · every {source.every:g} s · {source.articles} articles · last success {when}"
        )
        if source.paused and source.pause_reason:
            print(f"         paused: {source.pause_reason}")
        elif source.failures and source.last_error:
            print(f"         {source.failures} failures in a row: {source.last_error}")
    for problem in problems:
        print(f"problem: {problem}")
    return EXIT_OK


def _source_json(source: Any) -> dict[str, Any]:
    def moment(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "url": source.url,
        "name": source.label,
        "origin": source.origin,
        "health": source.health,
        "paused": source.paused,
        "pause_reason": source.pause_reason,
        "failures": source.failures,
        "last_success": moment(source.last_success_at),
        "last_error": source.last_error,
        "next_poll": moment(source.next_poll_at),
        "articles": source.articles,
        "every": source.every,
        "full_text": source.full_text.value,
        "topics": list(source.topics),
    }


_COMMANDS = {
    "run": cmd_run,
    "fetch": cmd_fetch,
    "sources": cmd_sources,
    "ask": cmd_ask,
    "related": cmd_related,
    "brief": cmd_brief,
    "topics": cmd_topics,
    "check": cmd_check,
    "playground": cmd_playground,
}
