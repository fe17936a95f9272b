"""The playground's demo news site: an RSS feed of teasers and a page per story, served by the playground
on 127.0.0.1 and polled by the bot like any source, so a visitor sees feed → fetched → searchable → alert.

The stories are fictional, written for this demo. Two are in the feed from the start (the source's backlog:
searchable, never alerted); the admin chat's "Publish story" button adds the next one. Pure: feed and page
text out; the server (server.py) serves them. Must not import telegram or aiohttp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

FEED_PATH = "/demo/feed.xml"
STORY_PATH = "/demo/stories/"
SITE_NAME = "Playground Wire (demo)"
POLL_SECONDS = 5


@dataclass(frozen=True, slots=True)
class DemoStory:
    """A fictional story: its teaser goes in the feed, its paragraphs on its page."""

    slug: str
    title: str
    teaser: str
    paragraphs: tuple[str, ...]
    author: str


STORIES: tuple[DemoStory, ...] = (
    DemoStory(
        "ai-audit-draft",
        "Standards group publishes a draft checklist for auditing AI models",
        "A draft checklist for auditing AI models is open for comment until the end of the month.",
        (
            "A working group of testing laboratories has published a draft checklist for auditing AI "
            "models before they are sold to public bodies, the first of the industry standards it promised "
            "last year.",
            "The draft asks suppliers to document training data sources, the evaluations they ran and the "
            "known failure modes of a model, and to repeat the audit after every major update.",
            "Comments are open until the end of the month. The group says a second draft, with a scoring "
            "scheme for auditors, will follow in the autumn.",
        ),
        "Priya Lindqvist",
    ),
    DemoStory(
        "chatgpt-classroom-pilot",
        "Schools in a coastal county pilot ChatGPT for homework feedback",
        "Twelve schools are trying ChatGPT as a homework tutor this term.",
        (
            "Twelve secondary schools in a coastal county are piloting ChatGPT as a homework tutor this "
            "term, with teachers reviewing every piece of feedback before pupils see it.",
            "The county's education office said the pilot will measure whether pupils revise their work more "
            "often when they get feedback the same evening, rather than a week later.",
            "Parents can opt their children out. A report on the pilot is due before the summer holidays.",
        ),
        "Tomasz Achterberg",
    ),
    DemoStory(
        "sora-archive-museum",
        "Film museum saves a collection of Sora clips before the app closes",
        "A film museum is archiving short videos made with Sora before the app shuts down.",
        (
            "A film museum has begun archiving a collection of short videos made with OpenAI's Sora app, "
            "saying the clips record a brief moment in how people played with video generators.",
            "Curators are asking creators for permission to keep their clips, along with the prompts they "
            "typed, so that researchers can later study how the prompts shaped the results.",
            "The museum plans a small exhibition next spring, with the clips shown beside the prompts that "
            "made them.",
        ),
        "Ines Marchetti",
    ),
    DemoStory(
        "codex-volunteer-sites",
        "Volunteer groups use Codex to build their first websites",
        "Small charities are building websites with Codex in weekend workshops.",
        (
            "Small charities are using OpenAI's Codex to build their first websites in weekend workshops run "
            "by a network of volunteer programmers.",
            "Organisers say most groups leave with a working site for events and donations, and that the "
            "volunteers spend their time checking the generated code for accessibility problems.",
            "The network plans forty more workshops this year and will publish its checklist for reviewing "
            "generated sites.",
        ),
        "Kwame Osei-Bonsu",
    ),
    DemoStory(
        "mcp-interop-test",
        "Tool makers hold an interoperability test for the Model Context Protocol",
        "A dozen tool makers tested their Model Context Protocol servers against each other.",
        (
            "A dozen makers of developer tools met for a two-day interoperability test of the Model Context "
            "Protocol, connecting each other's servers and clients to find where they disagreed.",
            "Most problems were small differences in how errors are reported, the organisers said; two were "
            "ambiguities in the specification that they will send to its maintainers.",
            "The results, with the test scripts, will be published so that other implementers can run them.",
        ),
        "Hana Dvořáková",
    ),
)
BACKLOG = 2  # stories in the feed when the playground starts


@dataclass
class DemoFeed:
    """The demo site's state: which stories are published, and when."""

    base_url: str = ""
    published: list[tuple[DemoStory, datetime]] = field(default_factory=list)

    def start(self, now: datetime | None = None) -> None:
        """Publish the backlog, dated the day before."""
        moment = (now or datetime.now(UTC)) - timedelta(days=1)
        self.published = [
            (story, moment + timedelta(hours=number)) for number, story in enumerate(STORIES[:BACKLOG])
        ]

    def publish(self, now: datetime | None = None) -> DemoStory | None:
        """Publish the next story; None when every story is out."""
        if len(self.published) >= len(STORIES):
            return None
        story = STORIES[len(self.published)]
        self.published.append((story, (now or datetime.now(UTC)).replace(microsecond=0)))
        return story

    @property
    def url(self) -> str:
        """The feed's address."""
        return self.base_url.rstrip("/") + FEED_PATH

    @property
    def remaining(self) -> int:
        """Stories not published yet."""
        return len(STORIES) - len(self.published)

    def story(self, slug: str) -> DemoStory | None:
        """A published story by its slug."""
        return next((story for story, _ in self.published if story.slug == slug), None)

    def etag(self) -> str:
        """Changes whenever a story is published."""
        return f'"demo-{len(self.published)}"'

    def rss(self) -> str:
        """The feed: newest first, teasers only (the bot fetches each page for the whole story)."""
        base = self.base_url.rstrip("/")
        items = [
            f"<item><title>{escape(story.title)}</title><link>{base}{STORY_PATH}{story.slug}</link>"
            f'<guid isPermaLink="false">playground-demo-{story.slug}</guid>'
            f"<pubDate>{format_datetime(moment)}</pubDate><description>{escape(story.teaser)}</description></item>"
            for story, moment in reversed(self.published)
        ]
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{escape(SITE_NAME)}</title><link>{base}/demo/</link>"
            "<description>Fictional stories for the Newsbot playground</description>"
            + "".join(items)
            + "</channel></rss>"
        )

    def page(self, story: DemoStory) -> str:
        """A story's page, with the navigation and boxes a news site has around its text."""
        moment = next(when for published, when in self.published if published is story)
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(story.title)} | {escape(SITE_NAME)}</title>"
            f'<meta name="author" content="{escape(story.author)}">'
            f'<meta property="article:published_time" content="{moment.isoformat()}"></head><body>'
            f'<header><a href="/demo/">{escape(SITE_NAME)}</a><nav><a href="/demo/">Latest</a> '
            '<a href="/demo/">Technology</a> <a href="/demo/">Policy</a></nav></header>'
            f"<main><article><h1>{escape(story.title)}</h1><p>By {escape(story.author)}</p>{paragraphs}"
            "</article><aside><h2>Most read</h2><ul><li>Weather for the weekend</li>"
            "<li>Letters to the editor</li></ul></aside></main>"
            "<footer>A fictional site for the Newsbot playground.</footer></body></html>"
        )
