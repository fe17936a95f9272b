"""The answer-bearing excerpt of an article for a question, with the spans of matched terms (data, no markup).

Every sentence of the text is a candidate. Sentences are chosen greedily, best first, until the budget is
spent: a sentence earns the weight of the question terms it holds (terms it repeats from sentences already
chosen earn a third), each weight scaled by how rare the term is among the text's own sentences (a name
in every sentence does not say which sentence answers), plus a bonus when it holds a value of the kind the
question asks for (a number, a date, a name) that the question itself does not contain; for a number of
a known measure ("how far" → metres, "how much … cost" → £, "what share" → %) the full bonus needs the
unit, and for a count what is counted right after it ("how many mobiles" → "63,000 mobile phones"); a
bare number earns half. The chosen sentences are shown in text order. The sentence right after
the best one joins when it fits, because answers usually follow the words that ask for them: at once,
before any other sentence, when the best one holds no number or date of the asked kind and its follower
does (not for a name, which most sentences of a story hold).
When a measured value or a count is asked for and no chosen sentence holds one, a sentence that does
joins (see _with_value): the one holding the most of the question, else the nearest, though it may share
no word with the question. When a name is asked for and the best sentence opens by referring back to one
("The band once fronted by …", "He said …"), the sentence before it joins first: that is where the name
is. A question asking for a year is answered by a year only, not by any date.
A sentence too long for the budget is cut at a clause end, else a word end. "…" marks exactly the places
where text inside a sentence was cut or whole sentences were skipped between two shown ones; a snippet
that starts or ends on a sentence boundary gets none there. The marks count toward max_chars. Only the
first SNIPPET_SCAN_CHARS characters are read, so a snippet costs the same however long the article (the
longest BBC story is 25,452).
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.core.models import Snippet
from bot.core.questions import AnswerKind, Measure, answer_measure, asks_for_year, counted_terms
from bot.core.text import SENTENCE_END, analyze, find_terms, first_span, spans, terms

ELLIPSIS = "…"
GAP = " … "  # between two shown sentences that are not neighbours
SNIPPET_CHARS = 400  # two or three sentences of news prose: the answer and what frames it
MIN_CHARS = 10  # room for two ellipses and a word
ANSWER_BONUS = 0.2  # a sentence holding a value of the asked kind: worth a fifth of the whole question
ANSWER_WEAK = 0.5  # of that, for a number without the unit the question asks for ("how far" → metres)
REPEAT_SHARE = 1 / 3  # what a term already shown earns again
MIN_GAIN = 0.15  # a further sentence must add at least this share of the question to be worth showing
REACH_SHARE = 0.6  # of a trimmed piece's room: the stretch after its anchor whose matches count (the
# rest is for the words before the anchor and the answer after the last match)
_COUNTED_WORDS = 3  # "63,000 mobile phones", "2,000 of its workers": what is counted follows this closely
_COUNTED_REACH = 80  # characters read for those words
SNIPPET_SCAN_CHARS = 30_000  # of an article, only this much is read for its snippet

_CLAUSE_END = re.compile(r"[,;:](?= )| [-–—](?= )")
# "one" is left out: far more often a pronoun ("one of the most …") than a count.
_NUMBER_WORDS = (
    "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|"
    "hundred|thousand|million|billion|trillion"
)
_NUMBER = re.compile(
    rf"[£$€¥]?\d[\d,.:]*(?:%|bn|m|k|p|st|nd|rd|th)?|\b(?:{_NUMBER_WORDS}|first|second|third|fourth|fifth|"
    r"sixth|seventh|eighth|ninth|tenth|half|dozen|double|triple)\b",
)
# A value carrying the unit of what the question measures ("how far" → "44 metres").
_AMOUNT = rf"(?:\d[\d,.]*|\b(?:a|an|one|{_NUMBER_WORDS})\b)"
_MEASURED: dict[Measure, re.Pattern[str]] = {
    Measure.MONEY: re.compile(
        rf"[£$€¥] ?\d|{_AMOUNT}[ -]?(?:bn|m|k|million|billion|trillion)? ?(?:pounds?|dollars?|euros?|yen|"
        r"pence|cents?|yuan|rupees?|roubles?|rubles?|francs?|kronor|krona|pesos?|rand)\b",
    ),
    Measure.SHARE: re.compile(
        r"\d[\d,.]* ?(?:%|per ?cent\b|percentage points?\b)|\b(?:a|one|two|three)[- ](?:half|third|"
        r"quarter|fifth|tenth)s?\b|\b(?:doubled|tripled|halved)\b",
    ),
    Measure.DURATION: re.compile(
        rf"{_AMOUNT}[ -](?:more |full |straight )?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|"
        r"decades?|centuries|century|seasons?)\b|\d+:\d\d",
    ),
    # (Also an athlete's "17.30m": two decimals and "m", not after a currency sign as "£1.25m" is.)
    Measure.DISTANCE: re.compile(
        rf"{_AMOUNT}[ -]?(?:metres?|meters?|km|kilometres?|kilometers?|miles?|yards?|feet|foot|ft|inches|"
        r"cm|mm)\b|(?:^|[ (])\d{1,3}\.\d\dm\b",
    ),
    Measure.AGE: re.compile(
        rf"\baged? {_AMOUNT}|{_AMOUNT}[ -]years?[ -]old\b|\bage of {_AMOUNT}|\b(?:in )?(?:his|her) "
        r"(?:teens|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)\b",
    ),
    Measure.WEIGHT: re.compile(
        rf"{_AMOUNT} ?(?:kg|kilos?|kilograms?|grams?|g|pounds?|lbs?|tonnes?|tons?|stone|ounces?|oz)\b",
    ),
}
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_MONTH = re.compile(  # (any date: a month, a weekday or a year)
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    rf"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b|{_YEAR.pattern}"
)
# A sentence opening with a pronoun or "the <one adjective> <band, firm, singer …>" refers back to a name.
_REFERENTS = (
    "company|firm|group|club|team|side|band|song|single|album|film|movie|show|programme|series|book|novel|"
    "play|musical|country|nation|city|town|venue|stadium|newspaper|paper|magazine|airline|bank|party|"
    "university|school|court|organisation|agency|body|studio|label|website|game|product|chain|retailer|"
    "carrier|operator|manufacturer|maker|producer|player|manager|coach|actor|actress|singer|star|minister|"
    "president|chief|boss|leader|director|author|writer|judge|chairman|man|woman|pair|duo|couple|striker|"
    "midfielder|defender|winger|champion|veteran|rapper|comedian|presenter|MP|peer|politician"
)
_REFERS_BACK = re.compile(
    rf"(?:He|She|They|His|Her|Their|The (?:[\w-]+ )?(?:{_REFERENTS})s?|The \d+-year-old)\b"
)
_CAPITALISED = re.compile(r"\b[A-Z][\w'’&.-]*(?: (?:of |de |van |von |the |and )?[A-Z][\w'’&.-]*)*")


@dataclass(frozen=True, slots=True)
class _Sentence:
    start: int
    end: int
    terms: frozenset[str]


def make_snippet(
    text: str,
    weights: Mapping[str, float] | Collection[str],
    *,
    max_chars: int = SNIPPET_CHARS,
    wants: AnswerKind | None = None,
    question: str = "",
) -> Snippet:
    """The sentences of `text` (whitespace collapsed) that best answer a question, within max_chars.

    `weights` maps each question term to its weight (a plain collection weighs every term 1); `wants`
    is the kind of answer asked for and `question` the question's own words, so that a value the
    question already states does not count as the answer.
    """
    if max_chars < MIN_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_CHARS}")
    weight = dict(weights) if isinstance(weights, Mapping) else dict.fromkeys(weights, 1.0)
    if len(text) > SNIPPET_SCAN_CHARS:
        cut = text.rfind(" ", 0, SNIPPET_SCAN_CHARS)  # at a word end, when there is one
        text = text[: cut if cut > SNIPPET_SCAN_CHARS // 2 else SNIPPET_SCAN_CHARS]
    flat = " ".join(text.split())  # (str.split and a regex's \s agree on whitespace: str.isspace)
    if len(flat) <= max_chars:
        return Snippet(flat, tuple(spans(flat, weight)))
    matches = _Matches.of(flat, weight.keys())
    sentences = _sentences(flat, weight, matches)
    values = _AnswerValues(flat, sentences, wants, question)
    chosen = _choose(sentences, weight, max_chars, values)
    pieces = _assemble(flat, sentences, chosen, max_chars, matches, weight)
    return _render(flat, pieces, weight, matches)


class _Matches:
    """The question's terms in the text, found once (text.find_terms): what each sentence holds and the
    spans to mark, without analysing every word. Only where the text folds by character; elsewhere
    (None) each piece is analysed on its own."""

    def __init__(self, flat: str, found: list[tuple[str, int, int]]):
        self._flat = flat
        self._found = found
        self._starts = [start for _, start, _ in found]

    @classmethod
    def of(cls, flat: str, wanted: Collection[str]) -> _Matches | None:
        found = find_terms(flat, wanted)
        return None if found is None else cls(flat, found)

    def within(self, start: int, end: int) -> list[tuple[str, int, int]]:
        """The matches starting in flat[start:end], in order."""
        return self._found[bisect_left(self._starts, start) : bisect_left(self._starts, end)]

    def cut_cleanly(self, start: int, end: int) -> bool:
        """Whether flat[start:end] splits no token, so that analysing it gives exactly the matches within:
        it starts at the text's start, after a space or at a match, and ends at the text's end or
        before a space, a dash, or a comma, colon or semicolon followed by a space."""
        flat = self._flat
        at = bisect_left(self._starts, start)
        starts_cleanly = (
            start == 0 or flat[start - 1] == " " or (at < len(self._starts) and self._starts[at] == start)
        )
        if end >= len(flat) or flat[end] in " -–—":
            return starts_cleanly
        return starts_cleanly and flat[end] in ",;:" and (end + 1 == len(flat) or flat[end + 1] == " ")


def _sentences(flat: str, weight: Mapping[str, float], matches: _Matches | None) -> list[_Sentence]:
    """Every sentence with the question terms it holds (the fast analysis: spans come later, for the
    few sentences shown)."""
    bounds = [0] + [m.end() + 1 for m in SENTENCE_END.finditer(flat)]  # (one space after each: flat)
    ends = [b - 1 for b in bounds[1:]] + [len(flat)]
    if matches is not None:
        return [
            _Sentence(start, end, frozenset(term for term, _, _ in matches.within(start, end)))
            for start, end in zip(bounds, ends, strict=True)
        ]
    return [
        _Sentence(start, end, frozenset(weight.keys() & terms(flat[start:end])))
        for start, end in zip(bounds, ends, strict=True)
    ]


class _AnswerValues:
    """Whether a sentence holds a value of the asked kind (see _answers), read when first needed: the
    greedy choice asks only about sentences that could still win with it."""

    def __init__(self, flat: str, sentences: list[_Sentence], wants: AnswerKind | None, question: str):
        self._flat, self._sentences, self._wants = flat, sentences, wants
        self._measure = answer_measure(question) if wants is AnswerKind.NUMBER else None
        self._counted = counted_terms(question) if wants is AnswerKind.NUMBER else frozenset()
        self._asked = _question_values(question) if wants is not None else frozenset()
        self._year_only = wants is AnswerKind.DATE and asks_for_year(question)
        self._known: dict[int, float] = {}
        # A measured or counted number is a value few sentences hold ("nine months", "63,000 mobile
        # phones"); a plain number, a date or a name is in most sentences of a news story.
        self.specific = self._measure is not None or bool(self._counted)
        # A name above all (a person, a place, a firm: 79% of the sentences of 300 BBC stories hold one),
        # so a follower holding one says nothing of whether it answers: only a number or a date asked for
        # pulls the best sentence's follower in ahead of the rest (see _choose).
        self.pulls_follower = wants is not AnswerKind.NAME

    def refers_back(self, number: int) -> bool:
        """Whether a name is asked for and the sentence opens by referring to one named before it ("The
        band once fronted by Ozzy Osbourne …", "He said …"): the name is then in the sentence before."""
        if self._wants is not AnswerKind.NAME:
            return False
        sentence = self._sentences[number]
        return _REFERS_BACK.match(self._flat, sentence.start, sentence.end) is not None

    def __call__(self, number: int) -> float:
        if self._wants is None:
            return 0.0
        value = self._known.get(number)
        if value is None:
            sentence = self._sentences[number]
            text = self._flat[sentence.start : sentence.end]
            value = self._known[number] = _answers(
                text, self._wants, self._measure, self._asked, self._counted, year_only=self._year_only
            )
        return value


def states_measure(text: str, measure: Measure) -> bool:
    """Whether the text (its first SNIPPET_SCAN_CHARS characters) holds a value in the measure's unit:
    a sum of money, a percentage, a duration … (an article without one cannot say how much)."""
    return _MEASURED[measure].search(text[:SNIPPET_SCAN_CHARS].lower()) is not None


def _question_values(question: str) -> frozenset[str]:
    words = re.findall(r"[\w£$€%.,:'’-]+", question)
    return frozenset(word.casefold().strip(".,:'’-") for word in words)


def _answers(
    sentence: str,
    wants: AnswerKind | None,
    measure: Measure | None,
    asked: frozenset[str],
    counted: frozenset[str] = frozenset(),
    *,
    year_only: bool = False,
) -> float:
    """1 when the sentence holds a value of the wanted kind that the question does not already state
    (for a measured number, one with its unit; for a count, one followed by what is counted: "how many
    mobiles" → "63,000 mobile phones"), ANSWER_WEAK for a number without either, else 0. A question
    asking for a year (`year_only`) is answered by a year only."""
    if wants is None:
        return 0.0
    if wants is AnswerKind.NUMBER:
        lowered = sentence.lower()  # (the patterns are lower case: far quicker than re.IGNORECASE)
        if measure is not None and any(
            m.group().strip(".,:") not in asked for m in _MEASURED[measure].finditer(lowered)
        ):
            return 1.0
        numbers = [m for m in _NUMBER.finditer(lowered) if m.group().strip(".,:") not in asked]
        if not numbers:
            return 0.0
        if counted:
            for number in numbers:
                following = lowered[number.end() : number.end() + _COUNTED_REACH].split()[:_COUNTED_WORDS]
                if counted.intersection(terms(" ".join(following))):
                    return 1.0
        return 1.0 if measure is None and not counted else ANSWER_WEAK
    if wants is AnswerKind.DATE:
        dates = _YEAR if year_only else _MONTH  # ("in which year …" is not answered by "in March")
        return float(any(m.group().casefold() not in asked for m in dates.finditer(sentence)))
    for match in _CAPITALISED.finditer(sentence):
        if match.start() == 0 or sentence[match.start() - 2 : match.start()] in {". ", '" ', "' "}:
            words = match.group().split()[1:]  # a sentence's first word is capitalised anyway
        else:
            words = match.group().split()
        if any(word.casefold().strip("'’.-") not in asked for word in words if word[:1].isupper()):
            return 1.0
    return 0.0


def _choose(
    sentences: list[_Sentence], weight: dict[str, float], max_chars: int, answers: _AnswerValues
) -> list[int]:
    """Indexes of the sentences to show: greedy by gain, then the best one's follower if it fits."""
    counts: dict[str, int] = {}
    for sentence in sentences:
        for term in sentence.terms:
            counts[term] = counts.get(term, 0) + 1
    scaled = {
        term: w * math.log(1 + len(sentences) / counts[term]) for term, w in weight.items() if term in counts
    }
    total = sum(scaled.values())
    if total <= 0:  # nothing of the question here: the opening sentences
        opening: list[int] = []
        used = 0
        for number, sentence in enumerate(sentences):
            used += sentence.end - sentence.start + (1 if opening else 0)
            if opening and used > max_chars:
                break
            opening.append(number)
        return opening
    chosen: list[int] = []
    shown: set[str] = set()
    used = 0
    while True:
        best: tuple[float, int] | None = None
        for number, sentence in enumerate(sentences):
            if number in chosen or not sentence.terms:
                continue
            cost = sentence.end - sentence.start + (len(GAP) if chosen else 0)
            if chosen and used + cost > max_chars:
                continue
            gain = sum(scaled[t] * (REPEAT_SHARE if t in shown else 1.0) for t in sentence.terms) / total
            if best is not None and gain + ANSWER_BONUS <= best[0]:
                continue  # (not even with the bonus)
            gain += ANSWER_BONUS * answers(number)
            if best is None or gain > best[0]:
                best = (gain, number)
        if best is None or (chosen and best[0] < MIN_GAIN):
            break
        first = not chosen
        chosen.append(best[1])
        shown |= sentences[best[1]].terms
        used += sentences[best[1]].end - sentences[best[1]].start + (len(GAP) if len(chosen) > 1 else 0)
        before, follower = best[1] - 1, best[1] + 1
        if first and before >= 0 and answers.refers_back(best[1]):
            # "Black Sabbath have topped a list … The band once fronted by Ozzy Osbourne led a poll …":
            # the name asked for is where the best sentence's "the band" or "he" points.
            used = _join_neighbour(sentences, before, chosen, shown, used, max_chars)
        if (
            first
            and answers.pulls_follower
            and follower < len(sentences)
            and answers(best[1]) < 1
            and answers(follower) == 1
        ):
            # The best sentence asks the question without answering it and the next one holds a value
            # of the asked kind: the answer follows the words that ask for it ("… an extra runway." →
            # "Opponents say the £2bn cost …"). It joins before anything else can take its room.
            used = _join_neighbour(sentences, follower, chosen, shown, used, max_chars)
        if used >= max_chars:
            break
    if not chosen:
        return [0]
    if answers.specific and not any(answers(number) == 1 for number in chosen):
        chosen = _with_value(sentences, chosen, max_chars, answers, scaled)
    follower = chosen[0] + 1
    if follower < len(sentences) and follower not in chosen:
        extra = sentences[follower].end - sentences[follower].start + 1
        if used + extra <= max_chars:
            chosen.append(follower)
    return sorted(chosen)


def _join_neighbour(
    sentences: list[_Sentence], number: int, chosen: list[int], shown: set[str], used: int, max_chars: int
) -> int:
    """Add a neighbour of the best sentence to `chosen` (and its terms to `shown`) when it fits: no gap
    between them, one space. Returns the characters used then."""
    extra = sentences[number].end - sentences[number].start + 1
    if used + extra > max_chars:
        return used
    chosen.append(number)
    shown |= sentences[number].terms
    return used + extra


def _with_value(
    sentences: list[_Sentence],
    chosen: list[int],
    max_chars: int,
    answers: _AnswerValues,
    scaled: Mapping[str, float],
) -> list[int]:
    """The chosen sentences (best first) with a sentence holding a value of the asked measure or count,
    when none of them holds one: the one holding the most of the question (`scaled`: its terms'
    weights), then the one nearest the best sentence. Such an answer often stands in a sentence that
    shares none of the question's words ("How long had he prepared?" → "I started preparing for this
    tournament nine months ago."), near those that do; one that shares some ("… sprinted clear to win in
    two hours, 23 minutes …" for "the winning time") says more than a nearer one that shares none ("…
    recovered from her ordeal just 11 weeks ago"). It takes the room of the weakest others when it
    does not fit; chosen as it was when no sentence holds such a value or it cannot fit."""
    best = chosen[0]
    holders = sorted(
        (number for number in range(len(sentences)) if number not in chosen),
        key=lambda number: (
            -sum(scaled[term] for term in sentences[number].terms),
            abs(number - best),  # nearest
            -number,  # the later of two: answers follow the words that ask for them
        ),
    )
    holder = next((number for number in holders if answers(number) == 1), None)
    if holder is None:
        return chosen
    for size in range(len(chosen), 0, -1):  # (the best sentence stays: it holds the question's words)
        shown = [*chosen[:size], holder]
        used = sum(sentences[n].end - sentences[n].start for n in shown) + len(GAP) * (len(shown) - 1)
        if used <= max_chars:
            return shown
    return chosen


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int
    cut_before: bool  # text of the same sentence precedes and is not shown
    cut_after: bool


def _assemble(
    flat: str,
    sentences: list[_Sentence],
    chosen: list[int],
    max_chars: int,
    matches: _Matches | None,
    weight: Mapping[str, float],
) -> list[_Piece]:
    """Runs of neighbouring chosen sentences as pieces; the budget trims the pieces that do not fit."""
    runs: list[list[int]] = []
    for number in chosen:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    pieces: list[_Piece] = []
    used = 0
    for run in runs:
        start, end = sentences[run[0]].start, sentences[run[-1]].end
        room = max_chars - used - (len(GAP) if pieces else 0)
        if room < MIN_CHARS:
            break
        if end - start > room:
            pieces.append(_trim(flat, start, end, sentences[run[0]].terms, room, matches, weight))
            break
        pieces.append(_Piece(start, end, False, False))
        used += end - start + (len(GAP) if len(pieces) > 1 else 0)
    return pieces


def _trim(
    flat: str,
    start: int,
    end: int,
    held: Collection[str],
    room: int,
    matches: _Matches | None,
    weight: Mapping[str, float],
) -> _Piece:
    """The part of flat[start:end] around its matched terms that fits `room` with its marks.

    The anchor is the heaviest term's match in the stretch that holds the most of the question (a
    sentence may be a whole unpunctuated page, its first match far from the answer), else the first
    match. The part starts at the clause holding the anchor (or a few words before it, or at it) and
    ends at the last clause end, else word end, that fits; the anchor itself is always kept.
    """
    densest = _densest_match(flat, start, end, room, matches, weight)
    anchor, anchor_end = densest or _first_match(flat, start, end, held, matches)
    mark = len(ELLIPSIS)

    def fits(begin: int, stop: int) -> bool:
        return stop - begin + (mark if begin > start else 0) + (mark if stop < end else 0) <= room

    clause_starts = [start] + [m.end() + 1 for m in _CLAUSE_END.finditer(flat, start, anchor)]
    begin = clause_starts[-1]
    if not fits(begin, anchor_end) or anchor - begin > room // 2:
        space = flat.rfind(" ", start, max(anchor - room // 4, start + 1))
        begin = space + 1 if space >= 0 and fits(space + 1, anchor_end) else anchor
    if fits(begin, end):
        return _Piece(begin, end, begin > start, False)
    limit = begin + room - (mark if begin > start else 0) - mark
    floor = max(anchor_end, begin + 1)
    clause_ends = [m.start() for m in _CLAUSE_END.finditer(flat, floor, limit + 1) if m.start() <= limit]
    if clause_ends and (clause_ends[-1] - begin) * 2 >= limit - begin:
        stop = clause_ends[-1]
    else:
        space = flat.rfind(" ", floor, limit + 1)
        stop = space if space >= floor else max(limit, floor)
    stop = min(stop, begin + room - (mark if begin > start else 0) - mark) if stop > limit else stop
    return _Piece(begin, stop, begin > start, True)


def _densest_match(
    flat: str, start: int, end: int, room: int, matches: _Matches | None, weight: Mapping[str, float]
) -> tuple[int, int] | None:
    """In the stretch of flat[start:end] of REACH_SHARE × room characters from a match that holds the
    most question weight (each term counted once; the earliest of equals), the span of the first match
    of its heaviest term; None when it holds no term of the question."""
    if matches is not None:
        found = [(term, a, b) for term, a, b in matches.within(start, end) if weight.get(term, 0.0) > 0]
    else:  # (start and end are sentence bounds: the piece's own analysis gives what the whole text does)
        found = [
            (token.term, start + token.start, start + token.end)
            for token in analyze(flat[start:end])
            if weight.get(token.term, 0.0) > 0
        ]
    if not found:
        return None
    reach = int(room * REACH_SHARE)
    counts: dict[str, int] = {}
    best, best_value = 0, -1.0
    last = 0  # matches found[first:last] end within reach of found[first]'s start
    for first, (_, opening, _) in enumerate(found):
        while last < len(found) and (last <= first or found[last][2] - opening <= reach):
            counts[found[last][0]] = counts.get(found[last][0], 0) + 1
            last += 1
        value = sum(weight[term] for term, count in counts.items() if count)
        if value > best_value * (1 + 1e-12):
            best, best_value = first, value
        counts[found[first][0]] -= 1
    stretch = [found[best], *(match for match in found[best + 1 :] if match[2] - found[best][1] <= reach)]
    heaviest = max(stretch, key=lambda match: weight[match[0]])  # (the first of equals)
    return heaviest[1], heaviest[2]


def _first_match(
    flat: str, start: int, end: int, held: Collection[str], matches: _Matches | None
) -> tuple[int, int]:
    """Span of the first term of `held` in flat[start:end]: from the matches found once, or (text that
    does not fold by character, where there are none) a growing window at a time, since a "sentence"
    can be a whole unpunctuated page. Windows are checked with the fast analysis (terms only); spans
    come from the full analysis of a small window around the first match."""
    wanted = set(held)
    if matches is not None:  # (start and end are sentence bounds: no token is cut)
        first = next(((a, b) for term, a, b in matches.within(start, end) if term in wanted), None)
        return (start, start) if first is None else first
    position, step = start, 1024
    while position < end:
        stop = _word_end(flat, position + step, end)
        if wanted.intersection(terms(flat[position:stop])):
            # Narrow down to the first small window holding a match, then find its span.
            while position < stop:
                small = _word_end(flat, position + _SMALL_WINDOW, stop)
                if wanted.intersection(terms(flat[position:small])):
                    found = first_span(flat[position:small], wanted)
                    if found is not None:
                        return position + found[0], position + found[1]
                position = small
        position, step = stop, step * 2
    return start, start


_SMALL_WINDOW = 96  # characters analysed in full around a match


def _word_end(flat: str, at: int, end: int) -> int:
    """The first space at or after `at` (before end), or end: windows never split a word."""
    if at >= end:
        return end
    space = flat.find(" ", at, end)
    return end if space < 0 else space


def _render(
    flat: str, pieces: list[_Piece], weight: Mapping[str, float], matches: _Matches | None
) -> Snippet:
    parts: list[str] = []
    marks: list[tuple[int, int]] = []
    length = 0
    for number, piece in enumerate(pieces):
        if number:
            parts.append(GAP)
            length += len(GAP)
        if piece.cut_before and not number:
            parts.append(ELLIPSIS)
            length += len(ELLIPSIS)
        text = flat[piece.start : piece.end].rstrip(",;:-–— ")
        if matches is not None and matches.cut_cleanly(piece.start, piece.start + len(text)):
            shown = [
                (a - piece.start, b - piece.start)
                for _, a, b in matches.within(piece.start, piece.start + len(text))
            ]
        else:
            shown = spans(text, weight)
        marks.extend((start + length, end + length) for start, end in shown)
        parts.append(text)
        length += len(text)
        if piece.cut_after:
            parts.append(ELLIPSIS)
            length += len(ELLIPSIS)
    return Snippet("".join(parts), tuple(marks))
