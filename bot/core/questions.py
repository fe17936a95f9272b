"""What a question asks for: its analysed terms and the kind of answer it wants (a number, a date, a name).

The kind comes from the question's first wh-phrase ("how many", "when", "who", "which …"), the way
classic question-answering systems type their answers; snippets use it to prefer the sentence that
holds such a value. English only; any other question simply has no kind.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot.core.text import terms


class AnswerKind(enum.StrEnum):
    """The shape of the value a question asks for."""

    NUMBER = "number"  # an amount, a count, a share, a score, a size, an age
    DATE = "date"  # a day, a month, a year
    NAME = "name"  # a person, an organisation, a place, a title


@dataclass(frozen=True, slots=True)
class Query:
    """A question as the search sees it: the text, its analysed terms and the kind of answer wanted."""

    text: str
    terms: tuple[str, ...]
    wants: AnswerKind | None = None

    @classmethod
    def of(cls, text: str) -> Query:
        """Analyse a question."""
        return cls(text, tuple(terms(text)), answer_kind(text))


# Nouns that, after "what/which (was the)", name a quantity: "what was the jobless rate", "what share".
_QUANTITY_NOUNS = (
    "amount|percentage|percent|proportion|rate|ratio|score|scoreline|margin|price|cost|value|worth|"
    "level|size|number|share|sum|figure|total|age|salary|wage|fee|fine|bill|budget|deficit|surplus|"
    "debt|profit|profits|loss|losses|revenue|revenues|turnover|sales|income|earnings|valuation|"
    "attendance|audience|population|distance|height|length|weight|speed|temperature|capacity|"
    "majority|lead|stake|tally|count|fortune|bonus|payout|compensation|damages|rise|increase|fall|"
    "drop|decline|growth|deal|offer|bid|premium|dividend|gap|shortfall|fee|transfer fee|time"
)
# Nouns that, after "what", name a name: "what company", "what film".
_NAME_NOUNS = (
    "company|firm|group|club|team|side|band|song|single|album|film|movie|show|programme|series|book|"
    "novel|play|musical|country|nation|city|town|place|venue|stadium|ground|hotel|airport|title|brand|"
    "network|channel|station|newspaper|paper|magazine|airline|bank|party|university|school|court|"
    "organisation|organization|agency|body|studio|label|website|site|game|product|chain|retailer|"
    "carrier|operator|broker|manufacturer|maker|producer|player|manager|coach|actor|actress|singer|star|"
    "minister|president|chief|boss|leader|director|author|writer|judge|name"
)
_HOW_QUANTITY = (
    r"how\s+(?:many|much|long|far|big|old|heavily|fast|high|low|large|small|often|tall|deep|wide|soon|badly)"
)
_KIND_PATTERNS: tuple[tuple[AnswerKind, re.Pattern[str]], ...] = (
    (AnswerKind.NUMBER, re.compile(rf"^(?:by\s+|to\s+|from\s+|at\s+|for\s+)?{_HOW_QUANTITY}\b")),
    (
        AnswerKind.NUMBER,
        re.compile(
            r"^(?:by|to|at|for)\s+(?:what|which)\s+(?:\w+\s+)?(?:score|margin|amount|level|"
            r"price|rate|figure|extent|percentage|sum)\b"
        ),
    ),
    (
        AnswerKind.NUMBER,
        re.compile(
            rf"^(?:what|which)\s+(?:(?:was|is|were|are|will be|would be|had been|has been)\s+)?"
            rf"(?:the\s+|its\s+|their\s+|his\s+|her\s+)?(?:\w+\s+){{0,2}}?(?:{_QUANTITY_NOUNS})\b"
        ),
    ),
    (AnswerKind.DATE, re.compile(r"^(?:since\s+|until\s+)?when\b")),
    (
        AnswerKind.DATE,
        re.compile(r"^(?:in\s+|on\s+|by\s+)?(?:what|which)\s+(?:year|month|day|date|season|decade)\b"),
    ),
    (
        AnswerKind.NAME,
        re.compile(r"^(?:by\s+|to\s+|from\s+|for\s+|with\s+|against\s+|of\s+)?(?:who|whom|whose)\b"),
    ),
    (
        AnswerKind.NAME,
        re.compile(r"^(?:in\s+|at\s+|to\s+|from\s+|for\s+|with\s+|by\s+|against\s+|of\s+|on\s+)?which\b"),
    ),
    (AnswerKind.NAME, re.compile(r"^(?:in\s+|at\s+|to\s+|from\s+)?where\b")),
    (
        AnswerKind.NAME,
        re.compile(
            rf"^(?:what|which)\s+(?:(?:was|is|were|are|will be|would be|had been|has been)\s+)?"
            rf"(?:the\s+|its\s+|their\s+|his\s+|her\s+)?(?:\w+\s+){{0,2}}?(?:{_NAME_NOUNS})s?\b"
        ),
    ),
)
_CONTRACTED = re.compile(r"^(what|who|where|when|which)'s\b")
_WH_START = re.compile(
    r"\b(?:(?:by|to|from|at|for|with|against|of|in|on|since|until)\s+)?(?:how|what|which|who|whom|whose|when|where)\b",
    re.IGNORECASE,
)


def answer_kind(question: str) -> AnswerKind | None:
    """The kind of answer the question's main wh-phrase asks for, or None (yes/no, "what happened", …).

    The main wh-phrase opens a clause (at the start, or after a comma or a dash), so "who" in "the
    adults who own one" is not it; and a leading "When …," clause only sets the scene when a later
    clause asks ("When the bank held rates, how fast was debt growing?" asks for a number).
    """
    phrases = list(_WH_START.finditer(question))
    if not phrases:
        return None
    openers = [m for m in phrases if _opens_clause(question, m.start())]
    main = openers[0] if openers else phrases[0]
    if main.group().casefold() == "when" and len(openers) > 1:
        main = openers[1]
    phrase = " ".join(question[main.start() : main.start() + 80].casefold().split())
    phrase = _CONTRACTED.sub(lambda m: m.group(1) + " is", phrase.replace("\u2019", "'"))
    for kind, pattern in _KIND_PATTERNS:
        if pattern.match(phrase):
            return kind
    return None


def _opens_clause(question: str, position: int) -> bool:
    before = question[:position].rstrip()
    return not before or before[-1] in ",;:-–—(\"'“‘"
