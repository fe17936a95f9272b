"""What a question asks for: its analysed terms and the kind of answer it wants (a number, a date, a name).

The kind comes from the question's first wh-phrase ("how many", "when", "who", "which …"), the way
classic question-answering systems type their answers, and for a number what it measures ("how far" →
a distance, "what share" → a percentage); snippets use both to prefer the sentence that holds such a
value. The words it writes as names ("Bitcoin", "iPhone") tell the relevance rule of a small archive
what it cannot cover. English only; any other question simply has no kind.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

from bot.core.text import STOP_WORDS, terms


class AnswerKind(enum.StrEnum):
    """The shape of the value a question asks for."""

    NUMBER = "number"  # an amount, a count, a share, a score, a size, an age
    DATE = "date"  # a day, a month, a year
    NAME = "name"  # a person, an organisation, a place, a title


class Measure(enum.StrEnum):
    """What an asked-for number measures, when the question says: the answer carries its unit."""

    MONEY = "money"  # how much did it cost, what price → £2bn, 5000 yen
    SHARE = "share"  # what percentage, by how much did it rise → 8.2%, a third
    DURATION = "duration"  # how long, how many years → six months
    DISTANCE = "distance"  # how far, how tall → 44 metres
    AGE = "age"  # how old → aged 77
    WEIGHT = "weight"  # how heavy, how much does it weigh → 320kg


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


def _small_word_capitalised(word: str) -> bool:
    """Whether a word is a stop word written with a capital ("The", "Of"), not "I" or "US"."""
    folded = word.casefold()
    return (
        word[:1].isupper()
        and word[1:] == word[1:].lower()
        and folded in STOP_WORDS
        and folded != "i"
        and not folded.startswith(("i'", "i’"))
    )


_WORD = re.compile(r"[^\W_][\w'’.-]*")
# Between two words: the second opens a sentence (or a quotation, or an aside).
_OPENING_GAP = re.compile(r"[.!?:;\"“‘(\[]\s*$")
# Capitalised in English yet everyday: no sign of a name (a title is one before a name, not one itself).
_CAPITALISED_EVERYDAY = re.compile(
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|january|february|march|april|may|june|july|august|"
    r"september|october|november|december|i|ok|mr|mrs|ms|miss|dr|sir|dame|lord|lady|prof|st"
)


def named_terms(text: str) -> frozenset[str]:
    """The analysed terms of the words the text writes as names: with a capital where no sentence opens
    ("Bitcoin" in "how much is one Bitcoin worth?"), or with a mixed case anywhere ("iPhone", "eBay").

    Empty for a title-cased or shouted question, which says nothing by its case (a small word such as
    "The" or "Of" capitalised where no sentence opens, or every such word capitalised); days, months and
    titles are left out. A library too small to have met most everyday words still knows that
    a name it has never met is beyond it (see Library.term_weights).
    """
    words = list(_WORD.finditer(text))
    inside: list[str] = []  # the words that open no sentence
    for number, match in enumerate(words):
        if number == 0:
            continue
        previous = words[number - 1]
        gap = text[previous.end() : match.start()]  # (read once each: a long message stays linear)
        if not previous.group().endswith(".") and _OPENING_GAP.search(gap) is None:
            inside.append(match.group())
    capitalised = [word for word in inside if any(c.isupper() for c in word)]
    if any(_small_word_capitalised(word) for word in inside) or 1 < len(capitalised) == len(inside):
        return frozenset()  # title case or shouting: "What Is The Price", "WHO WON THE CUP"
    # A word opening a sentence is a name only when its case is mixed past its first letter ("iPhone").
    mixed = [
        m.group() for m in words if not m.group()[1:].isupper() and any(c.isupper() for c in m.group()[1:])
    ]
    named: set[str] = set()
    for word in dict.fromkeys([*capitalised, *mixed]):
        if not _CAPITALISED_EVERYDAY.fullmatch(word.casefold()):
            named.update(terms(word))
    return frozenset(named)


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


@functools.lru_cache(maxsize=1024)  # (asked again by each snippet of an answer)
def answer_kind(question: str) -> AnswerKind | None:
    """The kind of answer the question's main wh-phrase asks for, or None (yes/no, "what happened", …).

    The main wh-phrase opens a clause (at the start, or after a comma or a dash), so "who" in "the
    adults who own one" is not it; and a leading "When …," clause only sets the scene when a later
    clause asks ("When the bank held rates, how fast was debt growing?" asks for a number).
    """
    phrase = _main_phrase(question)
    if phrase is None:
        return None
    for kind, pattern in _KIND_PATTERNS:
        if pattern.match(phrase[:80]):
            return kind
    return None


def _main_phrase(question: str) -> str | None:
    """The question from its main wh-phrase on, case-folded, whitespace collapsed, "what's" spelt out."""
    phrases = list(_WH_START.finditer(question))
    if not phrases:
        return None
    openers = [m for m in phrases if _opens_clause(question, m.start())]
    main = openers[0] if openers else phrases[0]
    if main.group().casefold() == "when" and len(openers) > 1:
        main = openers[1]
    phrase = " ".join(question[main.start() :].casefold().split())
    return _CONTRACTED.sub(lambda m: m.group(1) + " is", phrase.replace("\u2019", "'"))


# The noun a "what/which …" phrase asks about ("what was the average price", "by what percentage").
_HEAD = (
    r"^(?:by |to |at |for |from |in |of )?(?:what|which) "
    r"(?:(?:was|is|were|are|will be|would be|had been|has been) )?"
    r"(?:the |its |their |his |her |a |an )?(?:[\w-]+ ){0,2}?"
)
_WORDS = r"(?:[\w'-]+ )"  # any word of the question, with the space after it
# A money noun followed by one of these names a change or a negotiation, not a sum ("what pay rise").
_NOT_A_SUM = (
    r"(?! (?:rise|rises|increase|increases|cut|cuts|growth|freeze|deal|deals|talks|dispute|claim|rate))"
)
_MONEY_NOUNS = (
    "price|prices|cost|costs|value|worth|fee|fees|salary|wage|wages|fine|budget|deficit|surplus|debt|profit|"
    "profits|loss|losses|revenue|revenues|turnover|sales|income|earnings|valuation|fortune|bonus|payout|"
    "payment|compensation|damages|dividend|sum|takings|bid|offer|pay|money|cash"
)
# Verbs that after "how much" ask for a sum; everyday ones ("make", "take", "get") are left out: "how
# much … take up" asks for a share, and a measure is named only when the question is clear about it.
_MONEY_VERBS = (
    "cost|costs|costing|pay|paid|pays|paying|worth|spend|spent|spending|charge|charged|charging|earn|"
    "earned|earns|earning|raise|raised|raising|sell|sold|selling|fetch|fetched|lose|lost|losing|owe|owed|"
    "fine|fined|bid|offer|offered|offering|invest|invested|borrow|borrowed|save|saved|value|valued|"
    "donate|donated"
)
_CHANGE_VERBS = (
    "rise|rose|risen|rising|grow|grew|grown|growing|fall|fell|fallen|falling|increase|increased|increasing|"
    "drop|dropped|dropping|decline|declined|declining|jump|jumped|slump|slumped|climb|climbed|cut|shrink|"
    "shrank|expand|expanded|expanding|slash|slashed"
)
_TIME_UNITS = "years|months|weeks|days|hours|minutes|seconds|decades|seasons|games|matches"
# A race's time is a duration ("what was the winning time" → two hours, 23 minutes); a bare "what time"
# may ask for the clock ("at 3pm"), which no duration pattern reads.
_RACE_TIMES = "winning|finishing|record|best|fastest|qualifying|lap|personal best|world record"
# "How far did Idowu jump" asks for an athlete's distance, "how far did shares jump" for a change: a
# pronoun or a capitalised name right after the verb, then a verb of jumping, throwing or running, reads
# as the first (matched on the question as typed: case tells the name).
_ATHLETE_DISTANCE = re.compile(
    r"\b[Hh]ow far (?:did|does|do|can|could|will|would) (?:he|she|they|[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*)*) "
    r"(?:[a-z]+ ){0,2}?(?:jump|leap|throw|hurl|run|swim|walk|travel)\b"
)
# Checked in order, the first that matches wins: "how much … fall" is a share before "how much" is money.
_MEASURE_PATTERNS: tuple[tuple[Measure, re.Pattern[str]], ...] = (
    (Measure.AGE, re.compile(rf"^(?:at )?how old\b|^at what age\b|{_HEAD}age\b")),
    (Measure.WEIGHT, re.compile(rf"^how heavy\b|{_HEAD}weight\b|^how much {_WORDS}{{0,8}}?weigh(?:s|ed)?\b")),
    (Measure.MONEY, re.compile(rf"^how (?:high|low) {_WORDS}{{0,4}}?(?:price|prices|cost|costs|value)\b")),
    (
        Measure.SHARE,
        re.compile(
            rf"{_HEAD}(?:percentage|percent|proportion|share|ratio|rate|stake)\b|"
            rf"^(?:by how much|how much of)\b|"
            rf"^how (?:much|far|fast|quickly|sharply) {_WORDS}{{0,8}}?(?:{_CHANGE_VERBS})\b"
        ),
    ),
    (
        Measure.DISTANCE,
        re.compile(
            rf"^(?:from )?how (?:far|high|tall|deep|wide)\b(?! (?:over|above|under|below|behind|ahead))|"
            rf"{_HEAD}(?:distance|height|length|depth)\b"
        ),
    ),
    (
        Measure.DURATION,
        re.compile(
            rf"^(?:for )?how long\b|^(?:for |in |after )?how many (?:{_TIME_UNITS})\b|"
            rf"{_HEAD}(?:{_RACE_TIMES}) time\b"
        ),
    ),
    (
        Measure.MONEY,
        re.compile(
            rf"{_HEAD}(?:{_MONEY_NOUNS})\b{_NOT_A_SUM}|^how much (?:in )?(?:{_MONEY_NOUNS})\b|"
            rf"^how much (?:is|are) (?!{_WORDS}(?:of|in)\b)|^how much {_WORDS}{{0,20}}?(?:{_MONEY_VERBS})\b"
        ),
    ),
)


@functools.lru_cache(maxsize=1024)  # (asked again by each snippet of an answer)
def answer_measure(question: str) -> Measure | None:
    """What the number a question asks for measures (money, a share, a duration …), or None: a count
    ("how many people"), a score, or a question that does not ask for a number at all."""
    if answer_kind(question) is not AnswerKind.NUMBER:
        return None
    phrase = _main_phrase(question) or ""
    if phrase.startswith("how far") and _ATHLETE_DISTANCE.search(question):
        return Measure.DISTANCE
    for measure, pattern in _MEASURE_PATTERNS:
        if pattern.search(phrase):
            return measure
    return None


def asks_for_year(question: str) -> bool:
    """Whether the question asks for a year ("in which year …", "what year did …"): its answer is a year,
    not any date (a month or a weekday does not answer it)."""
    if answer_kind(question) is not AnswerKind.DATE:
        return False
    return _YEAR_ASKED.match(_main_phrase(question) or "") is not None


_YEAR_ASKED = re.compile(r"^(?:in |by |since |until |from )?(?:what|which) year\b")


@functools.lru_cache(maxsize=1024)  # (asked again by each snippet of an answer)
def counted_terms(question: str) -> frozenset[str]:
    """The analysed terms of what a "how many …" question counts ("how many new jobs" → new, job), whose
    answer is a number followed by them ("1,000 new jobs"); empty for any other question, for a count of
    time ("how many years": a duration) and where no noun follows ("how many were killed", "how many of
    them"): the first word after "how many" and the one after it, unless the first is a stop word."""
    if answer_kind(question) is not AnswerKind.NUMBER or answer_measure(question) is not None:
        return frozenset()
    phrase = _main_phrase(question) or ""
    counted = _COUNTED.match(phrase)
    if counted is None or counted.group(1) in STOP_WORDS:
        return frozenset()
    return frozenset(terms(" ".join(word for word in counted.groups() if word)))


_COUNTED = re.compile(r"^how many ([\w-]+)(?: ([\w-]+))?")


def _opens_clause(question: str, position: int) -> bool:
    before = question[:position].rstrip()
    return not before or before[-1] in ",;:-–—(\"'“‘"
