"""What the story-delivery benchmark (bench/story_delivery.py) feeds the bot: a small archive of seeded
filler, its topics, five reports of one event from five sources, and the stories its digests carry.

Every text here was written for this benchmark. The five reports tell one event in other words (as
outlets do), so the story index groups them; the digest stories are different events. Pure data and
file writing; no bot process, no network.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

PORTS_TOPIC = "ports"  # scenario 1: every chat follows it; the five reports mention it
RAIL_TOPIC = "rail"  # scenario 2: every chat's daily digest
TIDES_TOPIC = "tides"  # scenario 2: a few chats' second daily digest subscription, with many bulletins
TOPICS_YAML = f"""# Topics of the story-delivery benchmark (generated; not the bundled corpus's topics).
topics:
  - slug: {PORTS_TOPIC}
    name: Ports and shipping
    description: Harbours, container terminals and the people who work them.
    aliases: [port authority, container terminal, dockworkers, gantry crane]
  - slug: {RAIL_TOPIC}
    name: Rail
    description: Railways, lines and the trains on them.
    aliases: [railway, rail line, trains]
  - slug: {TIDES_TOPIC}
    name: Tide bulletins
    description: The harbour office's bulletins on tides and moorings.
    aliases: [tide bulletin]
"""


@dataclass(frozen=True, slots=True)
class Report:
    """One article as an outlet runs it."""

    slug: str
    source: str
    title: str
    paragraphs: tuple[str, ...]

    @property
    def body(self) -> str:
        """The paragraphs as the corpus's plain text (one blank line between them)."""
        return "\n\n".join(self.paragraphs)


# Scenario 1: one event, five outlets. As with agency copy, each outlet runs the wire's lead with its own
# title and edits, then words the rest its own way; names and numbers (Brennick, Eastgate, Ilse Varga,
# Kessler Marine, 14 ships, 48 hours) agree across them, as they do in real coverage of one event.
PORT_REPORTS = (
    Report(
        "brennick-gazette",
        "Brennick Gazette",
        "Crane collapses onto cargo ship at Brennick's Eastgate container terminal",
        (
            "A gantry crane collapsed onto a cargo ship at the Eastgate container terminal in Brennick early "
            "on Tuesday, and the port authority halted loading for 48 hours while engineers inspect the "
            "quay.",
            "Nobody was hurt, harbour master Ilse Varga said, because the night shift had stepped back for a "
            "change of crews minutes before the boom gave way.",
            "Fourteen ships are now waiting offshore. The crane's maker, Kessler Marine, has sent a team to "
            "examine the wreck, and the dockworkers' union asked for every crane on the quay to be checked "
            "before work resumes.",
        ),
    ),
    Report(
        "coastal-times",
        "Coastal Times",
        "Gantry crane collapses onto cargo ship at Eastgate container terminal in Brennick",
        (
            "A gantry crane collapsed onto a cargo ship at Brennick's Eastgate container terminal early on "
            "Tuesday, and the port authority halted all loading for 48 hours.",
            "Harbour master Ilse Varga told reporters that no one was injured: crews were changing shifts "
            "when the boom buckled and came down across the ship's deck.",
            "The port authority said 14 vessels were holding offshore. Kessler Marine, which built the "
            "crane, is sending inspectors, and dockworkers want all the terminal's cranes examined.",
        ),
    ),
    Report(
        "harbour-wire",
        "Harbour Wire",
        "Brennick crane collapse at Eastgate container terminal halts loading for 48 hours",
        (
            "A gantry crane collapsed onto a cargo ship at the Eastgate container terminal in Brennick on "
            "Tuesday morning, and the port authority has halted loading for 48 hours.",
            "The boom gave way shortly after a change of shifts, harbour master Ilse Varga said, and nobody "
            "on the quay or aboard was hurt. Fourteen ships were left waiting off the port.",
            "Kessler Marine, the crane's manufacturer, is investigating. The dockworkers' union said the "
            "other cranes at Eastgate should be inspected before loading starts again.",
        ),
    ),
    Report(
        "north-sea-post",
        "North Sea Post",
        "Crane collapse halts loading at Brennick's Eastgate container terminal",
        (
            "A gantry crane collapsed onto a cargo ship at the Eastgate container terminal in Brennick early "
            "on Tuesday, and the port authority suspended loading for 48 hours.",
            "No injuries were reported. Harbour master Ilse Varga said the crews had just changed shifts "
            "when the crane's boom failed.",
            "With 14 ships waiting to berth, engineers from Kessler Marine, which made the crane, began "
            "examining the collapse, and the dockworkers' union called for checks on every crane.",
        ),
    ),
    Report(
        "maritime-daily",
        "Maritime Daily",
        "Eastgate container terminal crane collapses onto cargo ship; Brennick port halts loading",
        (
            "A gantry crane collapsed onto a cargo ship at the Eastgate container terminal in Brennick in "
            "the early hours of Tuesday; nobody was hurt, and the port authority halted loading for 48 "
            "hours.",
            "Harbour master Ilse Varga said the boom came down just after the night crews had changed over.",
            "Fourteen ships are waiting offshore for berths. Kessler Marine, the crane's maker, is looking "
            "into the failure, and the dockworkers' union wants the quay's other cranes inspected first.",
        ),
    ),
)

# Scenario 2: three events for every chat's digest; the first is reported twice (one story, one entry).
RAIL_STORIES = (
    Report(
        "dunmore-line-courier",
        "Valley Courier",
        "Dunmore valley rail line reopens after six months of flood repairs",
        (
            "Trains ran on the Dunmore valley rail line on Monday for the first time since floods washed out "
            "two bridges in the spring, after six months of repairs costing 31 million.",
            "The operator, Westmoor Railways, said the first service from Dunmore to Calder carried more "
            "than 400 passengers, many of them commuters who had spent the summer on replacement buses.",
        ),
    ),
    Report(
        "dunmore-line-herald",
        "Midland Herald",
        "Trains run again on Dunmore valley line as six months of flood repairs end",
        (
            "The Dunmore valley rail line reopened on Monday, six months after spring floods washed away two "
            "of its bridges, once repairs costing 31 million were finished.",
            "Westmoor Railways said more than 400 passengers rode the first train from Dunmore to Calder; "
            "commuters had relied on replacement buses all summer.",
        ),
    ),
    Report(
        "calder-night-trains",
        "Valley Courier",
        "Night trains from Calder to the coast will return in April, railway operator says",
        (
            "Sleeper services between Calder and the coast will run again from April, the operator Norrow "
            "Rail said on Thursday, eight years after the last night train was withdrawn.",
            "Two refurbished carriages with 60 berths each will run three nights a week at first; tickets go "
            "on sale in January.",
        ),
    ),
    Report(
        "railway-pay-deal",
        "Midland Herald",
        "Railway signal workers accept 4.5% pay offer, ending their overtime ban",
        (
            "Signal workers at Westmoor Railways voted by 71% to accept a 4.5% pay rise on Wednesday, ending "
            "an overtime ban that had cancelled weekend trains since September.",
            "The union said the deal also guarantees a shorter rota from next year; weekend services return "
            "to the normal timetable this Saturday.",
        ),
    ),
)

_FILLER_WORDS = (
    "council market garden library river bridge school museum festival village weather orchard bakery "
    "theatre choir harvest meadow lantern workshop cyclists gallery canal allotment pottery quilt "
    "volunteers parish fountain carnival budget tenants landlord clinic nurses pharmacy recycling "
    "hedgerow woodland badger swallows beekeepers honey cider apples pears plums barley wheat sheep "
    "shearing wool weaving loom mill granary windmill lighthouse ferry pier promenade bandstand kiosk "
    "ice cream deckchairs sandcastle fishermen lobster crab mackerel chess club bowls cricket pavilion "
    "referee umpire trophy medal marathon relay sprint hurdles swimmers diving lifeguard coastguard "
    "rescue volunteers storm shelter blanket soup kitchen donation raffle auction antiques clocks "
    "stamps coins postcards archive photographs exhibition sculpture mural painter poet novelist "
    "publisher bookshop reading circle debate lecture astronomy telescope comet planetarium eclipse "
    "meteor frost snowfall gritters potholes roadworks diversion parking permit residents petition "
    "mayor councillors planning extension conservatory loft solar panels heat pumps insulation grants"
)
_FILLER = tuple(_FILLER_WORDS.split())


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_FILLER) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def filler(count: int, now: datetime, seed: int = 16) -> list[tuple[str, str, str, str]]:
    """(id, title, published, body) of `count` seeded filler articles of the last 30 days."""
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        title = " ".join(rng.choice(_FILLER) for _ in range(rng.randint(4, 8))).capitalize()
        published = now - timedelta(days=rng.uniform(1, 30))
        paragraphs = [" ".join(_sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(3)]
        rows.append((f"filler-{number:04d}", title, published.isoformat(), "\n\n".join(paragraphs)))
    return rows


_SYLLABLES = ("brak", "dun", "ell", "fen", "gorm", "hal", "ist", "jor", "kell", "lom", "mor", "nesh", "orr")


def tide_bulletins(count: int, seed: int = 17) -> list[Report]:
    """`count` different bulletins with long titles: a digest carrying them all outgrows one message.
    Each is about its own harbour (a made-up name) and its own things, so no two make one story."""
    rng = random.Random(seed)
    bulletins = []
    for number in range(1, count + 1):
        place = f"{_SYLLABLES[number % 13]}{_SYLLABLES[number // 13 % 13]}wick".capitalize()
        words = " ".join(rng.choice(_FILLER) for _ in range(6))
        bulletins.append(
            Report(
                f"tide-bulletin-{number:03d}",
                "Harbour Office",
                f"{place} tide bulletin: {place} harbour moorings move for the {words}",
                (
                    f"{place} harbour moves its moorings for the {words}, the {place} tide bulletin says. "
                    + " ".join(_sentence(rng) for _ in range(3)),
                ),
            )
        )
    return bulletins


def write_markdown(directory: Path, report: Report, published: datetime) -> Path:
    """One report as a Markdown corpus file (front matter and body); returns its path."""
    path = directory / f"{report.slug}.md"
    title = report.title.replace('"', "'")
    path.write_text(
        f'---\nid: {report.slug}\ntitle: "{title}"\nsource: {report.source}\n'
        f"published: {published.astimezone(UTC).isoformat()}\n---\n\n{report.body}\n",
        encoding="utf-8",
    )
    return path


def write_archive(directory: Path, articles: int, now: datetime) -> None:
    """The topics file and `articles` filler articles (JSON Lines) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "topics.yaml").write_text(TOPICS_YAML, encoding="utf-8")
    lines = [
        json.dumps(
            {"id": id_, "title": title, "published": published, "source": "Filler Weekly", "body": body}
        )
        for id_, title, published, body in filler(articles, now)
    ]
    (directory / "archive.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
