"""JSON Lines files → one Article per line; a bad line is a Problem with its line number, the rest loads.

Pure and synchronous (bytes in, Corpus out). Must not import telegram, aiosqlite, asyncio, pydantic or
any HTTP client, and does no I/O.
"""

from __future__ import annotations

import codecs
import json

from bot.core.corpus.fields import Invalid, build_article, failed, kind_of, plain_paragraphs, title_of
from bot.core.models import Article, Corpus, Problem


def parse_jsonl(data: bytes, rel: str) -> Corpus:
    """Every article of a JSON Lines file, and a Problem for each line that is not one."""
    articles: list[Article] = []
    problems: list[Problem] = []
    # Split on b"\n" only: JSON strings may legally hold U+2028, which str.splitlines would break on.
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        try:
            article = _parse_jsonl_line(raw, rel, number)
        except Invalid as exc:
            problems.append(Problem(rel, number, exc.reason))
        except Exception as exc:  # one hostile line must never stop the rest: report it, go on
            problems.append(Problem(rel, number, f"cannot read this line: {type(exc).__name__}: {exc}"))
        else:
            articles.append(article)
    if not articles and not problems:  # like an empty Markdown or text file, say so
        return failed(rel, None, "no articles: the file has no JSON lines")
    return Corpus(articles=tuple(articles), problems=tuple(problems))


def _parse_jsonl_line(raw: bytes, rel: str, number: int) -> Article:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"invalid UTF-8 (byte {exc.start} of the line)") from exc
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise Invalid("not valid JSON: nested too deeply") from exc
    except ValueError as exc:  # e.g. a number of more than 4,300 digits, which Python will not read
        raise Invalid(f"not valid JSON here: {exc}") from exc
    if not isinstance(fields, dict):
        raise Invalid(f"each line must be a JSON object, not {kind_of(fields)}")
    body = fields.get("body")
    if body is not None and not isinstance(body, str):
        raise Invalid(f"'body' must be text, not {kind_of(body)}")
    title = title_of(fields)
    return build_article(
        fields,
        title,
        "\n\n".join(plain_paragraphs(body or "")),
        rel=rel,
        line=number,
        default_id=f"{rel}#L{number}",
    )
