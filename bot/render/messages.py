"""Everything the bot says, as Telegram HTML: answers with citations and highlights, lists, help, reports,
alerts, usage lines and refusals; and the buttons that go with them, as data.

The only module that words the bot's messages; every dynamic field is escaped through html.py. Pure and
synchronous: stdlib, bot.core types and the command table only; must not import telegram, aiosqlite,
asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.commands import Command
from bot.core.interests import KeywordQuery, SubscribeOutcome
from bot.core.models import Article, Hit, Problem, Snippet, StandIn, Topic
from bot.render.buttons import Button, Keyboard, grid
from bot.render.html import escape, link

QUERY_SHOWN = 100  # characters of a question echoed back in a header
TITLE_SHOWN = 120
LEAD_SHOWN = 280
SHOWN_ITEMS = 5  # titles or problems listed before "… and N more"

# Fixed replies (valid HTML as they stand).
SLOW_DOWN = "You're asking faster than I can keep up. Please wait a minute and ask again."
NO_ARTICLES = "The archive has no articles yet."
NO_TOPICS = "No topics are tracked yet."
NO_MORE_RESULTS = "No more results."
NOT_ADMIN = "This command is for admins."
ADMINS_ONLY = "In groups only chat administrators can change subscriptions and settings."
RELOAD_RUNNING = "A reload is already running; try again when it has finished."
NOT_THE_ONLY_INSTANCE = (
    "Nothing was changed: this copy of the bot is shutting down because another one is running. "
    "Please send it again in a moment."
)

# Answers to button presses: plain text (Telegram shows them as a toast), at most 200 characters.
BUTTON_GONE = "This button is no longer available."
BUTTON_INVALID = "This button is not valid any more."
RESULTS_EXPIRED = "These results have expired. Please ask again."
ARTICLE_GONE = "That article is no longer in the archive."
TOPIC_GONE = "That topic is no longer tracked."
SUBSCRIPTION_REMOVED = "Subscription removed."
SUBSCRIPTION_GONE = "That subscription no longer exists."
BUTTON_FAILED = "Sorry, something went wrong."
BUTTON_NOT_THE_ONLY_INSTANCE = "Nothing was changed: this copy of the bot is shutting down. Please try again."

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def highlight(snippet: Snippet) -> str:
    """The snippet's text, escaped, with each matched span in <b>; bad spans are clamped or skipped."""
    text = snippet.text
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in snippet.spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    cursor = 0
    for start, end in merged:
        out.append(escape(text[cursor:start]))
        out.append(f"<b>{escape(text[start:end])}</b>")
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)


def format_date(dt: datetime | None) -> str:
    """A date as "24 Nov 2026" (locale-independent); empty when None."""
    if dt is None:
        return ""
    return f"{dt.day} {_MONTHS[dt.month - 1]} {dt.year}"


def format_moment(moment: datetime | None, *, missing: str = "never") -> str:
    """A UTC timestamp to the minute ("2026-11-24 14:05 UTC"), or `missing` when there is none."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else missing


def _one_line(text: str) -> str:
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """Whitespace collapsed to single spaces, cut at a word boundary to at most `limit` characters."""
    text = _one_line(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _quoted(text: str) -> str:
    return f"«{escape(shorten(text, QUERY_SHOWN))}»"


def _lead(body: str) -> str:
    """The first non-empty paragraph of a body, shortened for a preview."""
    for paragraph in body.split("\n\n"):
        if paragraph.strip():
            return shorten(paragraph, LEAD_SHOWN)
    return ""


def _first_few(items: Sequence[str], shown: int) -> list[str]:
    lines = [f"• {escape(shorten(item, TITLE_SHOWN))}" for item in items[:shown]]
    if len(items) > shown:
        lines.append(f"… and {len(items) - shown:,} more")
    return lines


# ---------------------------------------------------------------------------------------------------
# Articles and answers


_FLATTEN = str.maketrans({"\n": " ", "\r": " ", "\t": " ", "\v": " ", "\f": " "})


def source_line(article: Article) -> str:
    """`<i>source · date</i>` with whichever exist; empty when neither does."""
    bits = [_one_line(article.source or ""), format_date(article.published)]
    shown = " · ".join(bit for bit in bits if bit)
    return f"<i>{escape(shown)}</i>" if shown else ""


def citation(article: Article, *, snippet: Snippet | None = None, number: int | None = None) -> str:
    """A linked (or bold) title, a source · date line, then the highlighted snippet if given."""
    title = link(shorten(article.title, TITLE_SHOWN * 2) or "Untitled", article.url)
    lines = [title if number is None else f"{number}. {title}"]
    meta = source_line(article)
    if meta:
        lines.append(meta)
    if snippet is not None and snippet.text.strip():
        # Line breaks inside a snippet would read as new paragraphs; swapping them one-for-one keeps
        # the span offsets valid.
        flat = snippet.text.translate(_FLATTEN)
        lines.append(highlight(Snippet(flat, snippet.spans)))
    return "\n".join(lines)


def _numbered(articles: Sequence[Article]) -> list[str]:
    return [citation(article, number=i) for i, article in enumerate(articles, 1)]


def also_by(others: int) -> str:
    """Under a result that stands for a whole story: how many other sources reported it; empty for none."""
    return f"<i>Also reported by {_count(others, 'source')}</i>" if others > 0 else ""


def answer(
    query: str,
    hits: Sequence[Hit],
    *,
    offset: int = 0,
    total: int | None = None,
    at_least: bool = False,
    also: Sequence[int] | None = None,
    unknown: Sequence[str] = (),
    stand_ins: Sequence[StandIn] = (),
) -> str:
    """A header echoing the question, then numbered citations (from offset + 1) separated by blank lines.

    `at_least` marks `total` as a lower bound (the library stops counting at a cap): shown as "1,000+".
    `also`: per hit, how many other sources reported its story (each story is shown once). `unknown`:
    the question's words no story holds, named under the header (the stories answer the rest), with
    the aliases searched in place of those that name a tracked topic (`stand_ins`).
    """
    if not hits:
        return no_match(query, unknown=unknown)
    first, last = offset + 1, offset + len(hits)
    span = str(first) if first == last else f"{first}–{last}"
    if total is not None:
        shown_total = f"{total:,}+" if at_least else f"{total:,}"
        head = f"{'Result' if first == last else 'Results'} {span} of {shown_total} for {_quoted(query)}"
    elif offset:
        head = f"{'Result' if first == last else 'Results'} {span} for {_quoted(query)}"
    else:
        head = f"Results for {_quoted(query)}"
    blocks = [f"<b>{head}</b>"]
    if unknown or stand_ins:
        blocks[0] += f"\n<i>{escape(unknown_words_line(unknown, stand_ins))}</i>"
    for number, hit in enumerate(hits, first):
        entry = citation(hit.article, snippet=hit.snippet, number=number)
        others = also_by(also[number - first]) if also is not None else ""
        blocks.append(f"{entry}\n{others}" if others else entry)
    return "\n\n".join(blocks)


def no_match(query: str, *, hint: str | None = None, unknown: Sequence[str] = ()) -> str:
    """Nothing matched: say so, show the hint if any and the question's words no story holds (`unknown`,
    the first UNKNOWN_SHOWN), and suggest other words, /topics and /latest."""
    blocks = [f"Nothing in the archive matches {_quoted(query)}."]
    if hint:
        blocks.append(f"<i>{escape(hint)}</i>")
    if unknown:
        blocks.append(f"<i>{escape(unknown_words_line(unknown))}</i>")
    blocks.append("Try other words, or browse /topics and the /latest stories.")
    return "\n\n".join(blocks)


UNKNOWN_SHOWN = 3  # words no story holds, named in a no-match reply


def unknown_words_line(unknown: Sequence[str], stand_ins: Sequence[StandIn] = ()) -> str:
    """Plain text: "No story in the archive mentions “Zorblax” or “Quux”." (the first UNKNOWN_SHOWN), and
    for each word searched as another alias of the topic it names: "Searched for “DoD” in place of
    “Pentagon”: both name the topic Military AI."
    """
    lines = []
    if unknown:
        words = [f"“{shorten(word, QUERY_SHOWN)}”" for word in unknown[:UNKNOWN_SHOWN]]
        listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
        lines.append(f"No story in the archive mentions {listed}.")
    for stand_in in stand_ins[:UNKNOWN_SHOWN]:
        lines.append(
            f"Searched for “{shorten(stand_in.alias, QUERY_SHOWN)}” in place of "
            f"“{shorten(stand_in.word, QUERY_SHOWN)}”: both name the topic "
            f"{shorten(stand_in.topic, QUERY_SHOWN)}."
        )
    return " ".join(lines)


def related(title: str, articles: Sequence[Article], also: Sequence[int] | None = None) -> str:
    """Stories related to `title` as numbered, linked citations (`also`: per article, how many other
    sources reported its story)."""
    if not articles:
        return f"No related stories for “{escape(title)}” yet."
    entries = _numbered(articles)
    if also is not None:
        entries = [
            f"{entry}\n{also_by(others)}" if others > 0 else entry
            for entry, others in zip(entries, also, strict=True)
        ]
    return "\n\n".join([f"<b>Related to {_quoted(title)}</b>", *entries])


def topic_push(topic_name: str, articles: Sequence[Article]) -> str:
    """A related-story push: "Related stories" for one topic, as numbered, linked citations."""
    return "\n\n".join([f"<b>Related stories</b> · {escape(_one_line(topic_name))}", *_numbered(articles)])


def subscribed(
    what: str,
    understood: str,
    preview: Sequence[Article],
    *,
    already: bool = False,
    schedule: str | None = None,
) -> str:
    """Confirmation of a subscription: what was understood, its schedule (a digest's, when it is one),
    and the latest articles it would have matched."""
    head = "You were already subscribed to" if already else "Subscribed to"
    blocks = [f"<b>{head} {escape(_one_line(what))}</b>", escape(understood)]
    if schedule is not None:
        blocks.append(schedule)
    if preview:
        blocks.append("<i>Latest articles it matches (a preview; new ones will arrive as alerts):</i>")
        blocks.extend(_numbered(preview))
    else:
        blocks.append("<i>No article in the archive matches it yet; new ones will arrive as alerts.</i>")
    return "\n\n".join(blocks)


def digest_schedule(schedule: str, zone: str) -> str:
    """When a subscription's news arrives, for its confirmation."""
    if schedule == "now":
        return "<i>New stories arrive as alerts as they come.</i>"
    return (
        f"<i>New stories arrive as one digest, {escape(schedule)} ({escape(zone)} time; see /timezone).</i>"
    )


def schedule_refused(reason: str) -> str:
    """A /subscribe schedule that cannot be used, and why."""
    return f"{escape(reason)}\n\n<i>Example:</i> <code>/subscribe openai weekly mon 08:00</code>"


NO_DIGEST_WAITING = (
    "No digest is waiting in this chat. A subscription with a schedule collects new stories here until "
    "its time, e.g. <code>/subscribe openai daily 08:00</code>; then <code>/digest now</code> sends them."
)


def digests_now(articles: int, due: Sequence[datetime], zone: str) -> str:
    """/digest now: the waiting digests that go out at once, with the times (in the chat's zone) they
    were due at, and that they will not come again then."""
    one = len(due) == 1
    times = ", ".join(f"{format_date(moment)} {moment:%H:%M}" for moment in due)
    return (
        f"<b>Sending {_count(len(due), 'digest')} now</b> ({_count(articles, 'article')}), the "
        f"{'one' if one else 'ones'} due {escape(times)} ({escape(zone)} time).\n\n"
        f"<i>{'Its' if one else 'Their'} articles are sent once and will not come again at "
        f"{'that time' if one else 'those times'}; stories arriving from now on still wait for "
        f"{'it' if one else 'them'}.</i>"
    )


def timezone_shown(zone: str, *, changed: bool) -> str:
    """The chat's time zone (just set, or as it stands)."""
    if changed:
        return f"Digest times in this chat are now read in <b>{escape(zone)}</b> time."
    return (
        f"Digest times in this chat are read in <b>{escape(zone)}</b> time. "
        "Change it with <code>/timezone Area/City</code>, e.g. <code>/timezone Europe/Berlin</code>."
    )


def timezone_refused(reason: str) -> str:
    """A /timezone name that is not a time zone."""
    return escape(reason)


def subscription_list(rows: Sequence[tuple[str, str]]) -> str:
    """The chat's subscriptions as (kind, label) rows."""
    if not rows:
        return "This chat has no subscriptions. Try <code>/subscribe openai</code> or /topics."
    lines = [f"<b>Subscriptions</b> ({len(rows):,})", ""]
    lines += [
        f"{n}. {escape(_one_line(label))} <i>({escape(kind)})</i>" for n, (kind, label) in enumerate(rows, 1)
    ]
    return "\n".join(lines)


def latest(topic_name: str | None, articles: Sequence[Article]) -> str:
    """/latest: the newest articles, of one topic when named."""
    if not articles:
        return NO_ARTICLES
    return article_list(f"Latest on {topic_name}" if topic_name else "Latest articles", articles)


def unknown_topic(wanted: str) -> str:
    """A topic name that matches no tracked topic."""
    return f"I don't track a topic called {escape(wanted[:80])}. See /topics for the list."


def example_question(topic_name: str) -> str:
    """A question /start offers as a button, about one of the best-covered topics."""
    return f"What is the latest on {topic_name}?"


def article_list(header: str, articles: Sequence[Article]) -> str:
    """A bold header and numbered, linked titles with source · date (for /latest and topic pages)."""
    if not articles:
        return f"<b>{escape(header)}</b>\n\nNothing here yet."
    return "\n\n".join([f"<b>{escape(header)}</b>", *_numbered(articles)])


def topic_list(rows: Sequence[tuple[Topic, int]]) -> str:
    """Every topic with its display name, slug, article count and description."""
    if not rows:
        return NO_TOPICS
    lines = [f"<b>Topics</b> ({len(rows):,})", ""]
    for topic, count in rows:
        line = f"• <b>{escape(_one_line(topic.name))}</b> — <code>{escape(topic.slug)}</code>, "
        lines.append(line + _count(count, "article"))
        if topic.description.strip():
            lines.append(f"  <i>{escape(shorten(topic.description, TITLE_SHOWN))}</i>")
    return "\n".join(lines)


def key_values(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A bold title and one "key: value" line per row (for /status and /stats)."""
    lines = [f"<b>{escape(title)}</b>"]
    lines += [f"{escape(key)}: <b>{escape(value)}</b>" for key, value in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Help, welcome, admin reports


def _synopsis(command: Command) -> str:
    return f"/{command.name} {command.args}" if command.args else f"/{command.name}"


def _command_block(command: Command) -> str:
    line = escape(_synopsis(command))
    if command.description:
        line += " — " + escape(command.description)
    if command.example:
        line += f"\n<i>e.g.</i> <code>{escape(command.example)}</code>"
    return line


def help_text(commands: Sequence[Command], *, is_admin: bool) -> str:
    """Every public command with usage and example; admin commands too when the reader is an admin."""
    blocks = ["<b>Ask me anything</b> in plain words and I answer from the archive, citing each story."]
    blocks += [_command_block(command) for command in commands if not command.admin]
    admin = [command for command in commands if command.admin]
    if is_admin and admin:
        blocks.append("<b>Admin commands</b>")
        blocks += [_command_block(command) for command in admin]
    return "\n\n".join(blocks)


def usage(command: Command) -> str:
    """How to use a command, from the command table: synopsis, example and hint."""
    line = f"Usage: <code>{escape(_synopsis(command))}</code>, e.g. <code>{escape(command.example)}</code>"
    return f"{line}. {escape(command.hint)}" if command.hint else line


def welcome(article_count: int, topic_names: Sequence[str]) -> str:
    """The /start greeting: what the bot knows and how to ask."""
    blocks = [
        f"<b>Hello!</b> I answer questions from a news archive of {_count(article_count, 'article')} "
        "and cite the stories I use.",
        "Just send me a question in plain words.",
    ]
    if topic_names:
        shown = ", ".join(escape(_one_line(name)) for name in topic_names[:8])
        more = f" and {len(topic_names) - 8:,} more" if len(topic_names) > 8 else ""
        blocks.append(f"Topics I track: {shown}{more}. See /topics.")
    blocks.append("/latest shows the newest stories; /help lists every command.")
    return "\n\n".join(blocks)


def reload_report(
    *,
    before: int,
    after: int,
    seconds: float,
    added: Sequence[str] = (),
    changed: Sequence[str] = (),
    removed: Sequence[str] = (),
    problems: Sequence[Problem] = (),
    kept_old: bool = False,
    error: str | None = None,
    shown: int = SHOWN_ITEMS,
) -> str:
    """What a reload did: article counts before → after, titles added/changed/removed, problems, time.

    With kept_old the reload failed and the previous snapshot still answers; `error` says why.
    """
    if kept_old:
        kept = f"kept the previous snapshot ({_count(before, 'article')})"
        head = [f"<b>Reload failed</b> after {seconds:.1f} s: {kept}."]
        if error:
            head.append(f"<i>{escape(shorten(error, 300))}</i>")
        blocks = ["\n".join(head)]
    else:
        blocks = [f"<b>Reload finished</b> in {seconds:.1f} s\nArticles: {before:,} → {after:,}"]
        for label, titles in (("Added", added), ("Changed", changed), ("Removed", removed)):
            if titles:
                blocks.append("\n".join([f"{label}: {len(titles):,}", *_first_few(titles, shown)]))
        if not (added or changed or removed):
            blocks.append("No articles added, changed or removed.")
    if problems:
        lines = [f"Problems: {len(problems):,}", *_first_few([str(p) for p in problems], shown)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def problems_notice(problems: Sequence[Problem], shown: int = SHOWN_ITEMS) -> str:
    """Told to the admins once when the bot starts (or the watcher reloads) with corpus or topics problems."""
    head = (
        f"<b>The archive loaded with {_count(len(problems), 'problem')}</b>; the rest of it answers "
        "as usual. Fix the files, then /reload (or run <code>newsbot check</code> for the full list)."
    )
    return "\n\n".join([head, "\n".join(_first_few([str(p) for p in problems], shown))])


def reload_not_recorded(trouble: str) -> str:
    """The reload's library answers already, but its articles (and their alerts) could not be recorded."""
    return escape(
        f"Reloaded, but the articles could not be recorded: {trouble}. No alerts were queued "
        "for new articles; run /reload again once the database can be written."
    )


def status(
    *,
    articles: int,
    topics: int,
    loaded_at: datetime | None,
    reloading: bool,
    pending_alerts: int,
    last_delivery: datetime | None,
    last_alert_here: datetime | None,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """/status: archive size, last load, whether alerts are flowing (and `extra` rows: sources)."""
    return key_values(
        "Status",
        [
            ("Articles", f"{articles:,}"),
            ("Topics", f"{topics:,}"),
            ("Corpus loaded", format_moment(loaded_at)),
            ("Reload running", "yes" if reloading else "no"),
            ("Alerts pending", f"{pending_alerts:,}"),
            ("Last alert sent (any chat)", format_moment(last_delivery)),
            ("Last alert to this chat", format_moment(last_alert_here)),
            *extra,
        ],
    )


def stats(
    *,
    articles: int,
    passages: int,
    topics: int,
    chats_active: int,
    chats_total: int,
    questions_24h: int,
    questions_total: int,
    average_answer_ms: float | None,
    subscriptions_by_topic: dict[str, int],
    alerts: dict[str, int],
    last_delivery: datetime | None,
    database_bytes: int,
    uptime_seconds: float,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """/stats: archive, usage, storage and uptime figures (and `extra` rows: sources)."""
    average = f"{average_answer_ms:.1f} ms" if average_answer_ms is not None else "–"
    return key_values(
        "Stats",
        [
            ("Articles", f"{articles:,}"),
            ("Passages", f"{passages:,}"),
            ("Topics", f"{topics:,}"),
            ("Chats", f"{chats_active:,} active, {chats_total:,} total"),
            ("Questions (24 h)", f"{questions_24h:,}"),
            ("Questions (total)", f"{questions_total:,}"),
            ("Average answer time", average),
            ("Subscriptions", _per_topic(subscriptions_by_topic)),
            ("Alerts", _alert_counts(alerts)),
            ("Last alert delivered", format_moment(last_delivery)),
            ("Database size", _size(database_bytes)),
            ("Uptime", _duration(uptime_seconds)),
            *extra,
        ],
    )


def _per_topic(counts: dict[str, int]) -> str:
    if not counts:
        return "none"
    return ", ".join(
        f"{slug} {count:,}" for slug, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def _alert_counts(counts: dict[str, int]) -> str:
    return ", ".join(
        f"{status} {counts.get(status, 0):,}" for status in ("pending", "sent", "failed", "parked")
    )


def _size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{int(count):,} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} bytes"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {secs}s"


def apology(trouble: str | None = None) -> str:
    """Sorry, with what failed when the reader may know (an admin hit by a database failure)."""
    if trouble:
        return escape(f"Sorry, that failed: {trouble}")
    return "Sorry, something went wrong while answering. Please try again in a moment."


# ---------------------------------------------------------------------------------------------------
# Subscriptions and per-chat settings


def topic_understood(topic: Topic) -> str:
    """What a topic subscription was understood to mean (plain text)."""
    return f"Topic {topic.name} ({topic.slug}): any new article about it."


def keywords_understood(query: KeywordQuery) -> str:
    """What a keyword subscription was understood to mean, in words (plain text)."""
    must = ", ".join(" ".join(phrase) for phrase in query.required)
    text = f"Articles containing all of: {must}"
    if query.excluded:
        text += f"; and none of: {', '.join(' '.join(phrase) for phrase in query.excluded)}"
    return text + " (matched after stemming, e.g. 'losses' also finds 'loss')."


def keywords_refused(reason: str) -> str:
    """Why a keyword subscription cannot be accepted."""
    return escape(reason)


def subscription_limit(limit: int) -> str:
    """The chat has as many subscriptions as allowed."""
    return (
        f"This chat already has {limit} subscriptions, the most allowed. "
        "Remove some with /subscriptions first."
    )


def unsubscribed(label: str, *, removed: bool) -> str:
    """The answer to /unsubscribe of one topic or keyword query."""
    if removed:
        return f"Unsubscribed from <b>{escape(label)}</b>."
    return f"This chat is not subscribed to <b>{escape(label)}</b>. See /subscriptions."


def unsubscribed_all(count: int) -> str:
    """The answer to /unsubscribe all."""
    return f"Removed {count} subscription{'s' if count != 1 else ''}."


def topic_toggled(topic_name: str, outcome: SubscribeOutcome | None, *, limit: int) -> str:
    """The answer to a topic's toggle button (plain text); outcome None: the chat unsubscribed."""
    if outcome is None:
        return f"Unsubscribed from {topic_name}."
    if outcome is SubscribeOutcome.LIMIT_REACHED:
        return f"This chat already has {limit} subscriptions."
    return f"Subscribed to {topic_name}."


def related_pushes(enabled: bool, command: Command) -> str:
    """Whether related-story pushes are on here, and how to switch them."""
    return f"Related-story pushes are <b>{'on' if enabled else 'off'}</b> here. {usage(command)}"


def related_pushes_now(enabled: bool) -> str:
    """Related-story pushes were switched."""
    return f"Related-story pushes are now <b>{'on' if enabled else 'off'}</b> in this chat."


# ---------------------------------------------------------------------------------------------------
# Alerts


def _matched(reasons: Sequence[str]) -> str:
    return f"<i>Matched: {escape(', '.join(_one_line(r) for r in reasons))}</i>" if reasons else ""


SOURCES_SHOWN = 4  # other sources named under an alert; more are counted


def also_reported(sources: Sequence[str], reports: int = 0) -> str:
    """A story's other reports under its alert: "+2 sources: A, B" (named sources), else "+1 more
    report"; empty when there are none."""
    if sources:
        names = ", ".join(
            escape(_one_line(shorten(source, TITLE_SHOWN))) for source in sources[:SOURCES_SHOWN]
        )
        rest = f" and {len(sources) - SOURCES_SHOWN:,} more" if len(sources) > SOURCES_SHOWN else ""
        return f"<i>+{_count(len(sources), 'source')}: {names}{rest}</i>"
    if reports > 0:
        return f"<i>+{_count(reports, 'more report')}</i>"
    return ""


# A story's other named sources and how many other reports it has (for also_reported).
Coverage = tuple[Sequence[str], int]


def alert(
    article: Article, snippet: Snippet | None, reasons: Sequence[str], coverage: Coverage = ((), 0)
) -> str:
    """One new story for a subscriber: linked title, source · date, snippet or lead, its other sources,
    what it matched."""
    if snippet is None or not snippet.text.strip():
        snippet = Snippet(_lead(article.body))
    lines = ["🔔 " + citation(article, snippet=snippet), also_reported(*coverage), _matched(reasons)]
    return "\n".join(line for line in lines if line)


def digest(
    items: Sequence[tuple[Article, Sequence[str]]],
    coverage: Sequence[Coverage] | None = None,
    sentences: Sequence[Snippet | None] | None = None,
) -> str:
    """Several new stories in one message: numbered citations, each with its best sentence (when given),
    its other sources and what it matched."""
    if not items:
        return "No new articles."
    blocks = [f"🔔 <b>{_count(len(items), 'new article')}</b>"]
    for number, (article, reasons) in enumerate(items, 1):
        also = also_reported(*coverage[number - 1]) if coverage is not None else ""
        sentence = sentences[number - 1] if sentences is not None else None
        lines = [citation(article, number=number, snippet=sentence), also, _matched(reasons)]
        blocks.append("\n".join(line for line in lines if line))
    return "\n\n".join(blocks)


# ---------------------------------------------------------------------------------------------------
# Buttons as data


def answer_keyboard(related: Sequence[tuple[int, str]] = (), more: str | None = None) -> Keyboard:
    """Buttons under an answer: "Related N" per (number, callback_data), then "More results" if given."""
    rows = grid((Button(f"Related {number}", callback_data=data) for number, data in related), 4)
    if more is not None:
        rows += ((Button("More results ›", callback_data=more),),)
    return rows


def example_keyboard(questions: Sequence[tuple[str, str]]) -> Keyboard:
    """One button per (example question, callback_data), one per row."""
    return tuple((Button(question, callback_data=data),) for question, data in questions)


def topic_keyboard(topics: Sequence[tuple[str, bool, str]]) -> Keyboard:
    """A toggle per (topic name, subscribed here, callback_data): "✓ name" when subscribed, else "+ name"."""
    return grid(
        (Button(f"✓ {name}" if on else f"+ {name}", callback_data=data) for name, on, data in topics), 2
    )


def subscription_keyboard(remove_data: Sequence[str]) -> Keyboard | None:
    """ "Remove N" for each of the chat's subscriptions, in list order; None when there are none."""
    buttons = [Button(f"Remove {number}", callback_data=data) for number, data in enumerate(remove_data, 1)]
    return grid(buttons, 4) if buttons else None


def alert_keyboard(related_data: str, unsubscribe_data: str | None) -> Keyboard:
    """Under a single alert: "Related", and "Unsubscribe" when the subscription it matched is known."""
    buttons = [Button("Related", callback_data=related_data)]
    if unsubscribe_data is not None:
        buttons.append(Button("Unsubscribe", callback_data=unsubscribe_data))
    return (tuple(buttons),)
