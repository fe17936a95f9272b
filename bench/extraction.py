"""Article extraction, side by side: trafilatura (what bot/sources/extract.py uses) against readability-lxml
and a naive baseline (every paragraph of the page), on pages written for this project.

Eight stories (the playground's five demo stories and three written here) in five page layouts seen on
news sites: a classic news page; a blog post with long reader comments; text in bare <div>s with <br>s
and a related-stories box; an article broken up by "Read more" boxes, a captioned figure and an author
bio; a minimal page with JSON-LD metadata and long share/tag/legal blocks. Each page knows its article
text (the gold) and the boilerplate sentences that must not leak into it.

Run: python -m bench.extraction [--json PATH]. No network: the pages are strings made here.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from bot.core.corpus.feeds import html_paragraphs
from bot.playground.demofeed import STORIES as DEMO_STORIES
from bot.playground.demofeed import DemoStory
from bot.sources.extract import ExtractionFailed, extract_article

RESULTS = Path(__file__).resolve().parent / "results"
_WORD = re.compile(r"\w+")

MORE_STORIES = (
    DemoStory(
        "river-ferry-returns",
        "Harbour ferry returns after winter repairs",
        "The ferry to Gull Island is running again.",
        (
            "The blue-hulled ferry that links the old harbour with Gull Island made its first crossing of "
            "the year on Tuesday, carrying forty-two passengers and a crate of seedlings for the school.",
            "Engineers spent eleven weeks replacing the propeller shaft after a November storm bent it "
            "against the breakwater. The repairs cost the council a little over ninety thousand pounds.",
            "Captain Idris Penhallow said the vessel now runs quieter than it has in a decade. Timetables "
            "for the spring, with two extra sailings on Saturdays, are posted at the harbour office.",
        ),
        "Tamsin Reeve",
    ),
    DemoStory(
        "orchids-early",
        "Glasshouse orchids bloom a month early",
        "The orchids in the botanic glasshouse have flowered early.",
        (
            "The slipper orchids in the botanic garden's glasshouse opened a month earlier than usual, which "
            "the head gardener puts down to a new heating loop fed by the town's wastewater plant.",
            "Visitors queued along the gravel path on Sunday to see them. The warmer nights also brought out "
            "a moth the staff had not recorded since 1998.",
            "The glasshouse is open daily from ten until four; entry is free for residents of the parish.",
        ),
        "Oluwaseun Hartwell",
    ),
    DemoStory(
        "library-late-returns",
        "Library forgives late fines for a month",
        "Overdue books can be returned without a fine until the end of the month.",
        (
            "The central library will waive all late fines until the end of the month, hoping to recover "
            "some of the four thousand books that readers have kept past their due date.",
            "Librarians found one atlas that had been out since 1987. Its borrower, now living abroad, "
            "posted it back with a letter of apology and a pressed flower between the pages.",
            "From next month the library will stop charging fines for children's books altogether, as "
            "several neighbouring towns have already done.",
        ),
        "Margit Solheim",
    ),
)
STORIES = (*DEMO_STORIES, *MORE_STORIES)
PUBLISHED = datetime(2026, 2, 14, 7, 45, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Page:
    """A page with what an extractor should find on it."""

    layout: str
    html: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime
    author: str
    boilerplate: tuple[str, ...]  # sentences on the page that are not the article


def _p(paragraphs: Sequence[str]) -> str:
    return "".join(f"<p>{escape(text)}</p>" for text in paragraphs)


def news_page(story: DemoStory, when: datetime) -> Page:
    junk = (
        "We use cookies to remember your settings and measure how the site is used.",
        "Sign up for the morning briefing and get the day's headlines in your inbox.",
        "Council approves a new cycle lane along the seafront after a long debate.",
    )
    html = f"""<!doctype html><html><head><meta charset="utf-8">
<title>{escape(story.title)} | The Courier</title>
<meta name="author" content="{escape(story.author)}">
<meta property="article:published_time" content="{when.isoformat()}">
</head><body><header><a href="/">The Courier</a><nav>
<a href="/n">News</a> <a href="/s">Sport</a> <a href="/w">Weather</a></nav></header>
<div class="consent"><p>{junk[0]}</p><button>Accept</button></div>
<main><article><h1>{escape(story.title)}</h1>
<p class="byline">By {escape(story.author)}</p>{_p(story.paragraphs)}</article>
<aside><h2>Most read</h2><ul><li><a href="/a">{junk[2]}</a></li><li>
<a href="/b">Tide tables for the month</a></li></ul></aside>
<section class="newsletter"><h2>Newsletter</h2><p>{junk[1]}</p><form><input><button>Sign up</button>
</form></section>
</main><footer><p>© 2026 The Courier. All rights reserved.</p></footer></body></html>"""
    return Page("news", html, story.title, story.paragraphs, when, story.author, junk)


def blog_page(story: DemoStory, when: datetime) -> Page:
    comments = (
        "I have lived here for thirty years and I have never seen anything like this, and frankly I think "
        "the whole thing has been handled badly from the very start by everyone involved in it.",
        "Does anyone know whether the car park behind the old church will be open on the weekend, because "
        "last time it was closed without any warning and we had to walk half a mile in the rain.",
        "Great write-up, thank you. My grandmother used to tell stories about the same place when I was "
        "small, and it is lovely to read that people still care about it after all these years.",
    )
    shown = "".join(
        f'<div class="comment"><b>Reader {n}</b> said:<p>{escape(c)}</p></div>'
        for n, c in enumerate(comments, 1)
    )
    html = f"""<html><head><title>{escape(story.title)} – Notes from the Parish</title></head><body>
<div id="wrap"><div class="menu">
<a href="/">Home</a> · <a href="/about">About</a> · <a href="/archive">Archive</a></div>
<div class="post"><h2 class="post-title">{escape(story.title)}</h2>
<div class="meta">Posted on {when.strftime("%d %B %Y")} by {escape(story.author)}</div>
<div class="entry">{_p(story.paragraphs)}</div></div>
<div id="comments"><h3>3 comments</h3>
{shown}
<form><textarea>Leave a comment</textarea><button>Post</button></form></div></div></body></html>"""
    return Page("blog", html, story.title, story.paragraphs, when, story.author, comments)


def div_page(story: DemoStory, when: datetime) -> Page:
    related = (
        "Residents queue for hours to see the new aquarium open its doors for the first time this spring.",
        "The marathon will close the coast road on Sunday morning, and buses will take a longer route.",
        "A bakery on the high street has won a regional prize for its rye bread for the third year running.",
    )
    text = "<br><br>".join(escape(p) for p in story.paragraphs)
    teasers = "".join(
        f'<div class="teaser"><a href="/r{n}">{escape(r)}</a></div>' for n, r in enumerate(related)
    )
    html = f"""<html><head><meta charset="utf-8"><title>{escape(story.title)}</title>
<meta name="author" content="{escape(story.author)}">
<meta name="date" content="{when.date().isoformat()}"></head><body>
<div class="top"><div class="logo">Valley Times</div><div class="links">
<a href="/">Front page</a> <a href="/l">Local</a></div></div>
<div class="main"><div class="headline">{escape(story.title)}</div><div class="txt">{text}</div></div>
<div class="side"><div class="box-title">Related stories</div>
{teasers}</div>
<div class="bottom">Valley Times is published by Valley Media. Terms. Privacy.</div></body></html>"""
    return Page("divs", html, story.title, story.paragraphs, when, story.author, related)


def inline_page(story: DemoStory, when: datetime) -> Page:
    junk = (
        "Read more: How the harbour trust raised the money for the new pontoon last summer",
        "The photographer waited four hours for the light to change over the bay.",
        "About the author: a reporter who has covered the coast and its towns for twenty years.",
    )
    first, *rest = story.paragraphs
    html = f"""<!doctype html><html><head><meta charset="utf-8">
<title>{escape(story.title)} - Coast Post</title>
<meta property="article:published_time" content="{when.isoformat()}">
<meta name="author" content="{escape(story.author)}"></head>
<body><nav><a href="/">Coast Post</a> <a href="/latest">Latest</a></nav><article>
<h1>{escape(story.title)}</h1>
<p>{escape(first)}</p><div class="read-more"><a href="/x">{escape(junk[0])}</a></div>
<figure><img src="/bay.jpg" alt="The bay"><figcaption>{escape(junk[1])}</figcaption></figure>
{_p(rest)}<div class="bio"><p>{escape(junk[2])}</p></div></article>
<div class="share">Share on social media · Copy link · Email</div></body></html>"""
    return Page("inline", html, story.title, story.paragraphs, when, story.author, junk)


def jsonld_page(story: DemoStory, when: datetime) -> Page:
    junk = (
        "Tags: community, local news, council, weekend, events, weather, transport, schools, culture.",
        "This article may not be reproduced, distributed or stored in any form without written permission.",
        "Share this story with your friends and family on any of the networks below.",
    )
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.title,
        "datePublished": when.isoformat(),
        "author": {"@type": "Person", "name": story.author},
    }
    html = f"""<html><head><title>{escape(story.title)}</title>
<script type="application/ld+json">{json.dumps(data)}</script></head><body>
<section class="story"><h1>{escape(story.title)}</h1>{_p(story.paragraphs)}</section>
<div class="share"><p>{junk[2]}</p></div><div class="tags"><p>{junk[0]}</p></div>
<div class="legal"><p>{junk[1]}</p></div></body></html>"""
    return Page("jsonld", html, story.title, story.paragraphs, when, story.author, junk)


LAYOUTS: tuple[Callable[[DemoStory, datetime], Page], ...] = (
    news_page,
    blog_page,
    div_page,
    inline_page,
    jsonld_page,
)


def pages() -> list[Page]:
    """Every story in every layout."""
    return [
        layout(story, PUBLISHED + timedelta(days=number))
        for number, story in enumerate(STORIES)
        for layout in LAYOUTS
    ]


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    title: str | None = None
    published: datetime | None = None
    author: str | None = None


def with_trafilatura(page: Page) -> Extracted:
    try:
        found = extract_article(page.html.encode("utf-8"), url="https://site.example/story")
    except ExtractionFailed:
        return Extracted("")
    return Extracted(found.text, found.title, found.published, found.author)


def with_readability(page: Page) -> Extracted:
    from readability import Document

    document = Document(page.html)
    summary = document.summary(html_partial=True)
    text = "\n\n".join(html_paragraphs(summary)) if summary else ""
    return Extracted(text, document.short_title())


def every_paragraph(page: Page) -> Extracted:
    return Extracted("\n\n".join(html_paragraphs(page.html)))


SYSTEMS: dict[str, Callable[[Page], Extracted]] = {
    "trafilatura": with_trafilatura,
    "readability-lxml": with_readability,
    "every paragraph (baseline)": every_paragraph,
}


def _words(text: str) -> Counter[str]:
    return Counter(word.casefold() for word in _WORD.findall(text))


def _normal(text: str) -> str:
    return " ".join(word.casefold() for word in _WORD.findall(text))


def score(page: Page, found: Extracted) -> dict[str, float]:
    gold, got = _words("\n".join(page.paragraphs)), _words(found.text)
    overlap = sum((gold & got).values())
    precision = overlap / max(sum(got.values()), 1)
    recall = overlap / max(sum(gold.values()), 1)
    text = _normal(found.text)
    return {
        "precision": precision,
        "recall": recall,
        "f1": 0.0 if overlap == 0 else 2 * precision * recall / (precision + recall),
        "complete": float(all(_normal(p) in text for p in page.paragraphs)),
        "clean": float(not any(_normal(j) in text for j in page.boilerplate)),
        "title": float(found.title is not None and _normal(found.title) == _normal(page.title)),
        "date": float(found.published is not None and found.published.date() == page.published.date()),
        "author": float(found.author is not None and _normal(found.author) == _normal(page.author)),
    }


def run() -> dict[str, Any]:
    """Every system on every page: mean scores, per layout F1, and milliseconds per page."""
    corpus = pages()
    results: dict[str, Any] = {
        "pages": len(corpus),
        "layouts": [layout.__name__ for layout in LAYOUTS],
        "systems": {},
    }
    for name, system in SYSTEMS.items():
        system(corpus[0])  # warm up (imports, caches)
        rows: list[dict[str, float]] = []
        times: list[float] = []
        by_layout: dict[str, list[float]] = {}
        for page in corpus:
            started = time.perf_counter()
            found = system(page)
            times.append((time.perf_counter() - started) * 1000)
            row = score(page, found)
            rows.append(row)
            by_layout.setdefault(page.layout, []).append(row["f1"])
        results["systems"][name] = {
            **{key: round(statistics.fmean(r[key] for r in rows), 3) for key in rows[0]},
            "f1_by_layout": {
                layout: round(statistics.fmean(values), 3) for layout, values in by_layout.items()
            },
            "ms_per_page_median": round(statistics.median(times), 2),
        }
    return results


def table(results: dict[str, Any]) -> str:
    lines = [
        "| system | word F1 | precision | recall | all paragraphs | no boilerplate | title | date | author "
        "| ms/page |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["systems"].items():
        lines.append(
            f"| {name} | {row['f1']:.3f} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['complete']:.0%} | "
            f"{row['clean']:.0%} | {row['title']:.0%} | {row['date']:.0%} | {row['author']:.0%} | "
            f"{row['ms_per_page_median']} |"
        )
    lines.append("")
    lines.append("| layout | " + " | ".join(results["systems"]) + " |")
    lines.append("|---|" + "---|" * len(results["systems"]))
    for layout in results["systems"]["trafilatura"]["f1_by_layout"]:
        cells = " | ".join(f"{row['f1_by_layout'][layout]:.3f}" for row in results["systems"].values())
        lines.append(f"| {layout} | {cells} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, help="where to write the results (default bench/results/)")
    args = parser.parse_args(argv)
    results = run()
    print(f"{results['pages']} pages ({len(STORIES)} stories × {len(LAYOUTS)} layouts)")
    print(table(results))
    path = args.json or RESULTS / f"extraction-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
