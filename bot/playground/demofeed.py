"""The playground's demo news sites: RSS feeds of teasers and a page per story, served by the playground
on 127.0.0.1 and polled by the bot like any source, so a visitor sees feed → fetched → searchable → alert.

The stories are fictional, written for this demo. The wire has two in its feed from the start (the
source's backlog: searchable, never alerted); the admin chat's "Publish story" button adds the next one.
Two more sites report one event (TwoSourceEvent): the second runs its own wording of it a little after
the bot has read the first's, so a subscriber sees one alert that gains "+1 source". Pure: feed and page
text out, and when to publish; the server (server.py) serves them and keeps the time. Must not import
telegram or aiohttp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

SITE_NAME = "Playground Wire (demo)"
POLL_SECONDS = 5
# The second report of the two-source event follows this long after the bot read the first one: time
# enough for the first alert to go out, so the second report edits it rather than joining it unsent.
FOLLOW_SECONDS = 2 * POLL_SECONDS


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

# One event, as two outlets report it: the same names and numbers, told in their own words.
EVENT_TOPIC = "openai"  # the tracked topic both reports mention: subscribers to it get the alert
EVENT_REPORTS: tuple[DemoStory, DemoStory] = (
    DemoStory(
        "aquarium-chatgpt-guide",
        "Lantern Bay Aquarium puts a ChatGPT guide beside its tanks",
        "Visitors will be able to ask a ChatGPT guide about the animals in 14 languages.",
        (
            "The Lantern Bay Aquarium will put 60 tablets running a ChatGPT guide beside its tanks on "
            "Saturday, letting visitors ask about the animals in 14 languages.",
            "Curator Odile Brannock said the guide, built on OpenAI's models, answers only from the "
            "aquarium's own fact sheets, and that keepers checked every answer about the octopus before "
            "the launch.",
            "The aquarium tried the tablets with school groups in March. Children most often asked what the "
            "octopus eats and whether it knows its keepers, Ms Brannock said.",
            "Entry prices do not change. The tablets will be switched off during feeding talks so that "
            "visitors listen to the keepers.",
        ),
        "Maren Tolliver",
    ),
    DemoStory(
        "lantern-bay-tablets",
        "ChatGPT guide for the tanks at Lantern Bay Aquarium",
        "Sixty tablets with a ChatGPT guide go up beside the aquarium's tanks on Saturday.",
        (
            "On Saturday the Lantern Bay Aquarium puts 60 tablets with a ChatGPT guide beside its tanks, and "
            "visitors can ask about the animals in 14 languages.",
            "The guide uses OpenAI's models but answers only from the aquarium's fact sheets, curator Odile "
            "Brannock told the Courier; keepers reviewed each of its answers about the octopus ahead of the "
            "launch.",
            "School groups tested the tablets in March; what the octopus eats was the question children "
            "asked most, and whether it knows its keepers.",
            "Entry prices stay the same, and the tablets go dark during feeding talks.",
        ),
        "Joaquim Rasmussen",
    ),
)


@dataclass
class DemoFeed:
    """One demo site's state: which of its stories are published, and when."""

    base_url: str = ""
    published: list[tuple[DemoStory, datetime]] = field(default_factory=list)
    name: str = SITE_NAME
    prefix: str = "/demo"  # its feed is prefix/feed.xml, its pages prefix/stories/<slug>
    stories: tuple[DemoStory, ...] = STORIES
    backlog: int = BACKLOG
    read_at: datetime | None = None  # when the bot last fetched the feed

    def start(self, now: datetime | None = None) -> None:
        """Publish the backlog, dated the day before."""
        moment = (now or datetime.now(UTC)) - timedelta(days=1)
        self.published = [
            (story, moment + timedelta(hours=number))
            for number, story in enumerate(self.stories[: self.backlog])
        ]

    def publish(self, now: datetime | None = None) -> DemoStory | None:
        """Publish the next story; None when every story is out."""
        if len(self.published) >= len(self.stories):
            return None
        story = self.stories[len(self.published)]
        self.published.append((story, (now or datetime.now(UTC)).replace(microsecond=0)))
        return story

    @property
    def feed_path(self) -> str:
        """Where the feed is served."""
        return self.prefix + "/feed.xml"

    @property
    def story_path(self) -> str:
        """Where the story pages are served (the slug follows)."""
        return self.prefix + "/stories/"

    @property
    def url(self) -> str:
        """The feed's address."""
        return self.base_url.rstrip("/") + self.feed_path

    @property
    def remaining(self) -> int:
        """Stories not published yet."""
        return len(self.stories) - len(self.published)

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
            f"<item><title>{escape(story.title)}</title><link>{base}{self.story_path}{story.slug}</link>"
            f'<guid isPermaLink="false">playground-demo-{story.slug}</guid>'
            f"<pubDate>{format_datetime(moment)}</pubDate><description>{escape(story.teaser)}</description></item>"
            for story, moment in reversed(self.published)
        ]
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{escape(self.name)}</title><link>{base}{self.prefix}/</link>"
            "<description>Fictional stories for the Newsbot playground</description>"
            + "".join(items)
            + "</channel></rss>"
        )

    def page(self, story: DemoStory) -> str:
        """A story's page, with the navigation and boxes a news site has around its text."""
        moment = next(when for published, when in self.published if published is story)
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
        home = f"{self.prefix}/"
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(story.title)} | {escape(self.name)}</title>"
            f'<meta name="author" content="{escape(story.author)}">'
            f'<meta property="article:published_time" content="{moment.isoformat()}"></head><body>'
            f'<header><a href="{home}">{escape(self.name)}</a><nav><a href="{home}">Latest</a> '
            f'<a href="{home}">Technology</a> <a href="{home}">Policy</a></nav></header>'
            f"<main><article><h1>{escape(story.title)}</h1><p>By {escape(story.author)}</p>{paragraphs}"
            "</article><aside><h2>Most read</h2><ul><li>Weather for the weekend</li>"
            "<li>Letters to the editor</li></ul></aside></main>"
            "<footer>A fictional site for the Newsbot playground.</footer></body></html>"
        )


@dataclass
class TwoSourceEvent:
    """One event on two demo sites: the first reports it when asked, the second follow_seconds after the
    bot has read the first's report (the server keeps the time), so one alert goes out and is then edited
    to count the second source."""

    first: DemoFeed = field(
        default_factory=lambda: DemoFeed(
            name="Harbour Gazette (demo)", prefix="/demo/gazette", stories=EVENT_REPORTS[:1], backlog=0
        )
    )
    second: DemoFeed = field(
        default_factory=lambda: DemoFeed(
            name="Valley Courier (demo)", prefix="/demo/courier", stories=EVENT_REPORTS[1:], backlog=0
        )
    )
    follow_at: datetime | None = None  # when the second report is due, once the bot read the first
    follow_seconds: float = FOLLOW_SECONDS  # tests shorten it; `newsbot playground` keeps the default

    @property
    def feeds(self) -> tuple[DemoFeed, DemoFeed]:
        """Both sites, first first."""
        return self.first, self.second

    @property
    def ready(self) -> bool:
        """Whether the bot has read both (empty) feeds once: a report it then finds is news, not backlog."""
        return self.first.read_at is not None and self.second.read_at is not None

    @property
    def started(self) -> bool:
        """Whether the first report is out."""
        return bool(self.first.published)

    def publish_first(self, now: datetime | None = None) -> DemoStory | None:
        """The first site reports the event; None if it has already."""
        return None if self.started else self.first.publish(now)

    def first_read(self, now: datetime | None = None) -> datetime | None:
        """The bot fetched the first feed: the moment the second report falls due, if this read (the
        first one after the report came out) sets it; None otherwise."""
        if not self.started or self.follow_at is not None:
            return None
        self.follow_at = (now or datetime.now(UTC)) + timedelta(seconds=self.follow_seconds)
        return self.follow_at

    def publish_second(self, now: datetime | None = None) -> DemoStory | None:
        """The second site reports the event; None before the first did, or if it has already."""
        if not self.started or self.second.published:
            return None
        return self.second.publish(now)
