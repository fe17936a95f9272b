"""Seeded rewrites of an article: the same event as another outlet might report it, made at benchmark time.

We may not copy BBC text into the repository, so "another outlet's version" is generated from the BBC
article whenever the benchmark or a test runs: the lead stays in front (news states the event first) but
is reworded, later sentences are shuffled locally, dropped or extended with a line of our own, words are
swapped for synonyms from the small table below (written for this project), and the title is reworded.
Four modes, each a kind of rewrite seen in practice: `reworded` (the whole report in other words),
`condensed` (about half of it), `teaser` (the title and the first two or three sentences) and `extended`
(the whole report plus our own closing lines).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from bot.core.models import Article

MODES = ("reworded", "condensed", "teaser", "extended")
SYNONYM_RATE = 0.5  # share of the words the table knows that are swapped

# Our own table of everyday news words and plausible substitutes (no stemming: whole words only).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "said": ("stated", "told reporters", "explained"),
    "says": ("states", "claims", "argues"),
    "announced": ("unveiled", "revealed", "confirmed"),
    "announce": ("unveil", "reveal"),
    "plans": ("proposals", "intentions"),
    "plan": ("proposal", "scheme"),
    "government": ("administration", "ministers"),
    "company": ("firm", "business"),
    "firm": ("company", "group"),
    "firms": ("companies", "groups"),
    "companies": ("firms", "businesses"),
    "rise": ("increase", "climb"),
    "rose": ("increased", "climbed"),
    "risen": ("increased", "climbed"),
    "fell": ("dropped", "declined"),
    "fall": ("drop", "decline"),
    "big": ("large", "major"),
    "biggest": ("largest", "leading"),
    "large": ("big", "sizeable"),
    "new": ("fresh", "latest"),
    "win": ("victory", "triumph"),
    "won": ("claimed", "secured"),
    "beat": ("defeated", "overcame"),
    "match": ("game", "fixture"),
    "game": ("match", "contest"),
    "team": ("side", "squad"),
    "player": ("star", "international"),
    "players": ("stars", "squad members"),
    "coach": ("manager", "boss"),
    "manager": ("boss", "coach"),
    "chief": ("head", "boss"),
    "boss": ("chief", "head"),
    "shares": ("stock", "equity"),
    "profits": ("earnings", "income"),
    "profit": ("earnings", "income"),
    "sales": ("revenues", "turnover"),
    "deal": ("agreement", "pact"),
    "agreement": ("deal", "accord"),
    "market": ("sector", "marketplace"),
    "buy": ("acquire", "purchase"),
    "bought": ("acquired", "purchased"),
    "sell": ("offload", "dispose of"),
    "sold": ("offloaded", "disposed of"),
    "people": ("individuals", "citizens"),
    "country": ("nation", "state"),
    "world": ("global", "international"),
    "expected": ("predicted", "forecast"),
    "likely": ("set", "poised"),
    "because": ("since", "as"),
    "however": ("but", "yet"),
    "also": ("additionally", "too"),
    "help": ("assist", "aid"),
    "helped": ("assisted", "aided"),
    "show": ("reveal", "indicate"),
    "showed": ("revealed", "indicated"),
    "shows": ("reveals", "indicates"),
    "report": ("study", "review"),
    "move": ("step", "decision"),
    "decision": ("ruling", "move"),
    "hit": ("struck", "affected"),
    "cut": ("reduce", "trim"),
    "cuts": ("reductions", "reduces"),
    "jobs": ("posts", "positions"),
    "job": ("post", "position"),
    "claims": ("allegations", "assertions"),
    "warned": ("cautioned", "alerted"),
    "called": ("urged", "demanded"),
    "added": ("continued", "went on"),
    "believe": ("think", "feel"),
    "think": ("believe", "feel"),
    "want": ("wish", "seek"),
    "wants": ("wishes", "seeks"),
    "need": ("require", "must have"),
    "needs": ("requires", "must have"),
    "early": ("initial", "first"),
    "last": ("previous", "final"),
    "major": ("key", "significant"),
    "important": ("vital", "crucial"),
    "top": ("leading", "senior"),
    "leading": ("top", "prominent"),
    "begin": ("start", "commence"),
    "began": ("started", "commenced"),
    "start": ("begin", "opening"),
    "started": ("began", "launched"),
    "ended": ("finished", "concluded"),
    "end": ("close", "finish"),
    "continue": ("carry on", "go on"),
    "increase": ("rise", "growth"),
    "despite": ("in spite of", "notwithstanding"),
    "about": ("around", "roughly"),
    "around": ("about", "roughly"),
    "almost": ("nearly", "close to"),
    "nearly": ("almost", "close to"),
    "more": ("further", "additional"),
    "less": ("fewer", "lower"),
    "quickly": ("rapidly", "swiftly"),
    "recently": ("lately", "of late"),
    "week": ("seven days",),
    "month": ("four weeks",),
    "firm's": ("company's", "group's"),
    "officials": ("authorities", "representatives"),
    "official": ("spokesperson", "representative"),
    "minister": ("secretary", "politician"),
    "election": ("poll", "vote"),
    "voters": ("electorate", "public"),
    "party": ("movement", "organisation"),
    "court": ("tribunal", "judges"),
    "film": ("movie", "picture"),
    "films": ("movies", "pictures"),
    "music": ("songs", "recordings"),
    "album": ("record", "release"),
    "show's": ("programme's",),
    "award": ("prize", "honour"),
    "awards": ("prizes", "honours"),
    "users": ("customers", "consumers"),
    "phone": ("handset", "device"),
    "technology": ("tech", "innovation"),
    "computer": ("PC", "machine"),
    "online": ("on the web", "on the internet"),
    "internet": ("web", "net"),
    "launch": ("release", "debut"),
    "launched": ("released", "debuted"),
    "problem": ("issue", "difficulty"),
    "problems": ("issues", "difficulties"),
    "strong": ("robust", "solid"),
    "good": ("positive", "fine"),
    "bad": ("poor", "negative"),
    "however,": ("but", "yet"),
}

OUR_LINES = (
    "More details are expected later in the day.",
    "The story is developing and this report will be updated.",
    "Reactions from those involved are still coming in.",
    "Observers say the coming weeks will show what it means in practice.",
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9£$])")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*,?")


def sentences(body: str) -> list[str]:
    """The body's sentences, paragraphs flattened."""
    found: list[str] = []
    for paragraph in body.split("\n"):
        found.extend(s.strip() for s in _SENTENCE_END.split(paragraph.strip()) if s.strip())
    return found


def reword(text: str, rng: random.Random, rate: float = SYNONYM_RATE) -> str:
    """Swap words the table knows for a synonym, at `rate`, keeping a capital initial."""

    def swap(match: re.Match[str]) -> str:
        word = match.group()
        comma = word.endswith(",")
        bare = word[:-1] if comma else word
        options = SYNONYMS.get(bare.lower())
        if not options or rng.random() >= rate:
            return word
        chosen = rng.choice(options)
        if bare[0].isupper():
            chosen = chosen[0].upper() + chosen[1:]
        return chosen + ("," if comma else "")

    return _WORD.sub(swap, text)


def _shuffle_locally(items: list[str], rng: random.Random, reach: float = 2.5) -> list[str]:
    keyed = [(i + rng.uniform(-reach, reach), i, item) for i, item in enumerate(items)]
    return [item for _, _, item in sorted(keyed)]


def rewrite(article: Article, mode: str, seed: int = 0) -> Article:
    """Another outlet's report of the same event (seeded by article id, mode and seed)."""
    if mode not in MODES:
        raise ValueError(f"unknown rewrite mode {mode!r}")
    rng = random.Random(f"{seed}:{mode}:{article.id}")
    parts = sentences(article.body)
    lead, rest = (parts[0], parts[1:]) if parts else (article.body, [])
    if mode == "teaser":
        kept = rest[: rng.randint(1, 2)]
    elif mode == "condensed":
        kept = _shuffle_locally([s for s in rest if rng.random() < 0.5], rng)
    else:
        kept = _shuffle_locally(rest, rng)
    if mode == "extended":
        kept = kept + rng.sample(OUR_LINES, 2)
    if mode == "reworded" and kept and rng.random() < 0.25:
        lead, kept = kept[0], [lead, *kept[1:]]  # another outlet leads with another sentence
    body_sentences = [reword(lead, rng, rate=1.0)] + [reword(s, rng) for s in kept]
    paragraphs = [" ".join(body_sentences[i : i + 2]) for i in range(0, len(body_sentences), 2)]
    title = reword(article.title, rng, rate=0.9)
    words = title.split()
    if len(words) > 3 and rng.random() < 0.4:
        del words[rng.randrange(1, len(words))]  # headline writers drop a word here and there
    return replace(
        article,
        id=f"rewrite/{mode}/{article.id}",
        title=" ".join(words),
        body="\n\n".join(paragraphs),
        source="Rewrite wire",
        url=None,
    )
