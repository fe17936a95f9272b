"""The one analyzer: text → terms (with character spans) for documents, queries, snippets and topics.

NFKC + case folding, letter/digit tokens (dotted abbreviations and e- words one token: "U.S.", "e-mail"),
numbers kept, English stop words, Snowball stemming plus shared stems for what questions and stories put
in other words: irregular forms, a place and its people ("Wales", "Welsh"), British and American spellings.
A token longer than MAX_TOKEN_CHARS is no word: it gives no term. SENTENCE_END splits sentences.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Collection, Container, Iterator

import Stemmer

from bot.core.models import Token

# Bump whenever analyze()/terms() output changes for any input: index snapshots key on it.
ANALYZER_VERSION = "9"  # 2: tokens longer than MAX_TOKEN_CHARS give no term; 3: place names; 4: U.S.;
# 5: British spellings; 6: e-mail; 7: America apart from "us"; 8: the pronoun "us" is no term;
# 9: contractions typed without the apostrophe ("dont", "im") are stop words
# Longer than any word or number a question could hold (the longest English words are under 50
# letters); a longer token is a blob (base64, a run of one character) that no one asks for, and stemming
# and caching it would cost every analysis that meets it.
MAX_TOKEN_CHARS = 64

# Closed-class English words (articles, pronouns, auxiliaries, prepositions, conjunctions, question words
# and contractions, also as typed in chat without the apostrophe: "im a celebrity", "dont", "whats"). Those
# that are words of their own are left out: shell, hell, well, ill, wed, id, lets. Questions are mostly
# made of these. Deliberately absent: "us" (the pronoun is no term,
# but "US" in capitals is the country: see _PRONOUN_OR_COUNTRY), "may" (the month, and a surname) and
# "new".
_STOP_WORD_LIST = """
    a an the this that these those some any each every all both either neither no nor not only own same
    such other another few more most much many very too so than then just there here also
    i me my mine myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves one ones
    what which who whom whose when where why how whether
    am is are was were be been being have has had having do does did doing will would shall should
    can could might must ought
    about above across after against along among around at before behind below beneath beside between
    beyond by down during except for from in inside into near of off on onto out outside over since
    through throughout till to toward towards under until up upon with within without via per
    and but or if because as while although though unless whereas yet
    it's don't doesn't didn't isn't aren't wasn't weren't won't can't couldn't shouldn't wouldn't
    hasn't haven't hadn't mustn't i'm i've i'd i'll you're you've you'll you'd he's he'd he'll she's
    she'd she'll we're we've we'll we'd they're they've they'll they'd that's there's what's who's
    where's when's why's how's let's here's
    im ive dont doesnt didnt isnt arent wasnt werent wont cant couldnt shouldnt wouldnt hasnt havent
    hadnt mustnt youre youve youll youd hes shes weve theyre theyve theyll theyd thats theres whats whos
    wheres hows heres
    s t d ll m re ve st nd rd th
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORD_LIST.split())

# Snowball stem → shared stem, so differently phrased questions meet the article's wording. Only
# irregular verb forms (which no suffix stripper can reach), a few derivations news questions lean on
# (loss/lose, sale/sell, growth/grow, death/die) and adjectives of time (daily/day, annual/year).
# Keyed by Snowball stem, so "losses" (→ loss) and "deaths" (→ death) are covered too.
_IRREGULAR: dict[str, str] = {
    "lost": "lose",
    "loss": "lose",
    "daili": "day",
    "annual": "year",
    "bought": "buy",
    "sold": "sell",
    "sale": "sell",
    "paid": "pay",
    "won": "win",
    "ran": "run",
    "made": "make",
    "said": "say",
    "took": "take",
    "taken": "take",
    "gave": "give",
    "given": "give",
    "came": "come",
    "went": "go",
    "gone": "go",
    "goe": "go",
    "fell": "fall",
    "fallen": "fall",
    "rose": "rise",
    "risen": "rise",
    "grew": "grow",
    "grown": "grow",
    "growth": "grow",
    "spent": "spend",
    "built": "build",
    "brought": "bring",
    "told": "tell",
    "began": "begin",
    "begun": "begin",
    "wrote": "write",
    "written": "write",
    "held": "hold",
    "sent": "send",
    "broke": "break",
    "broken": "break",
    "death": "die",
    "dead": "die",
}

# Places and the words for their people, which news questions and stories use in turn ("the Welsh
# union", "Wales's union"; "Italy's front row", "the Italian prop"): each word of a group shares the
# first word's stem. Written as words, stemmed on first use. Left out where the word is as often
# something else in English news: Jordan (a racing team, a surname), Holland and Finn (surnames), Polish
# and Swede (common words), Georgian (an era). The UK joins Britain; America joins "US" (the country
# only: the pronoun "us" is no term).
_PLACE_NAMES = """
    afghanistan afghan; albania albanian; algeria algerian; us usa america american; argentina argentine
    argentinian; armenia armenian; australia australian; austria austrian; azerbaijan azerbaijani;
    bangladesh bangladeshi; belarus belarusian; belgium belgian; bolivia bolivian; bosnia bosnian;
    brazil brazilian; uk britain british briton; bulgaria bulgarian; cambodia cambodian; cameroon
    cameroonian; canada canadian; chile chilean; china chinese; colombia colombian; croatia croatian;
    cuba cuban; cyprus cypriot; denmark danish dane; egypt egyptian; england english; estonia estonian;
    ethiopia ethiopian; finland finnish; france french; germany german; ghana ghanaian; greece greek;
    hungary hungarian; iceland icelandic; india indian; indonesia indonesian; iran iranian; iraq iraqi;
    ireland irish; israel israeli; italy italian; jamaica jamaican; japan japanese; kenya kenyan; korea
    korean; kuwait kuwaiti; latvia latvian; lebanon lebanese; libya libyan; lithuania lithuanian;
    malaysia malaysian; mexico mexican; morocco moroccan; netherlands dutch; nigeria nigerian; norway
    norwegian; pakistan pakistani; palestine palestinian; peru peruvian; philippines filipino; portugal
    portuguese; romania romanian; russia russian; rwanda rwandan; scotland scottish scot; senegal
    senegalese; serbia serbian serb; singapore singaporean; slovakia slovak slovakian; slovenia
    slovenian; somalia somali; spain spanish spaniard; sudan sudanese; sweden swedish; switzerland swiss;
    syria syrian; taiwan taiwanese; thailand thai; tunisia tunisian; turkey turkish turk; uganda
    ugandan; ukraine ukrainian; uruguay uruguayan; venezuela venezuelan; vietnam vietnamese; wales welsh;
    yemen yemeni; zambia zambian; zimbabwe zimbabwean; europe european; africa african; asia asian
"""


# British spellings meet American ones, so a question spelt either way finds a story spelt the other
# ("organisation" / "organization", "colour" / "color", "centre" / "center", "defence" / "defense"):
# verbs in -ise by their stem (organ-ise / organ-ize, with -ised, -ising, -isation), words in -our and
# -re by rule, the rest in pairs. Words whose two spellings mean different things in British English
# are left out: draught / draft, tyre / tire, kerb / curb, cheque / check, storey / story.
_ISE_VERB_STEMS = """
    agon antagon apolog author capital categor central character civil colon commercial computer critic
    custom decentral democrat demoral desensit destabil digit dramat econom emphas energ equal evangel
    familiar fertil final formal galvan global harmon hospital human hypothes ideal immobil immun
    incentiv industrial institutional internal legal legitim liberal lion local magnet marginal maxim
    mechan memor mesmer metabol minim mobil modern monopol moral motor national natural neutral normal
    optim organ ostrac patron penal plagiar polar popular pressur priorit privat public radical rational
    real recogn regular reorgan revital satir scandal scrutin sensit serial social special stabil
    standard steril stigmat subsid summar symbol sympath synchron synthes tantal terror theor trivial
    union util vandal victim visual vocal western
"""
_OUR_WORDS = """
    ardour armour behaviour candour clamour colour demeanour endeavour favour favourite fervour flavour
    harbour honour humour labour neighbour neighbourhood odour parlour rigour rumour saviour savour
    splendour tumour valour vapour vigour
"""
_RE_WORDS = """
    calibre centimetre centre fibre kilometre litre lustre meagre metre millimetre sabre sceptre sombre
    spectre theatre
"""
_SPELLING_PAIRS = """
    defence defense; offence offense; licence license; pretence pretense; analyse analyze; paralyse
    paralyze; catalyse catalyze; catalogue catalog; dialogue dialog; analogue analog; programme program;
    grey gray; judgement judgment; acknowledgement acknowledgment; jewellery jewelry; sceptic skeptic;
    sceptical skeptical; scepticism skepticism; aluminium aluminum; mould mold; plough plow; manoeuvre
    maneuver; paediatric pediatric; paediatrician pediatrician; anaesthetic anesthetic; haemorrhage
    hemorrhage; leukaemia leukemia; diarrhoea diarrhea; foetus fetus; oestrogen estrogen; encyclopaedia
    encyclopedia; orthopaedic orthopedic; practise practice; cosy cozy; doughnut donut; sulphur sulfur;
    moustache mustache; pyjamas pajamas; woollen woolen; ageing aging
"""


def _british_spellings() -> Iterator[tuple[str, str]]:
    """(British word, American word) pairs: the table above, spelt out."""
    for root in _ISE_VERB_STEMS.split():
        for ending in ("e", "ed", "ing", "ation"):
            yield root + "is" + ending, root + "iz" + ending
    for word in _OUR_WORDS.split():
        yield word, word.replace("our", "or")
    for word in _RE_WORDS.split():
        yield word, word[:-2] + "er"
    for pair in _SPELLING_PAIRS.split(";"):
        british, american = pair.split()
        yield british, american


@functools.cache
def _shared_stems() -> dict[str, str]:
    """Snowball stem → the stem it shares with other words: _IRREGULAR, the place-name groups and the
    British spellings (→ the American stem)."""
    shared = dict(_IRREGULAR)
    stem = Stemmer.Stemmer("english", 0).stemWord
    for group in _PLACE_NAMES.split(";"):
        place, *others = (stem(word) for word in group.split())
        shared.update((other, place) for other in others if other != place)
    for british, american in _british_spellings():
        if stem(british) != stem(american):
            shared.setdefault(stem(british), shared.get(stem(american), stem(american)))
    return shared


@functools.cache
def _shared_stem_sources() -> dict[str, tuple[str, ...]]:
    """Each shared stem's Snowball stems (their words hold their keys, not the shared stem's)."""
    sources: dict[str, list[str]] = {}
    for stem, target in _shared_stems().items():
        sources.setdefault(target, []).append(stem)
    return {target: tuple(stems) for target, stems in sources.items()}


_NUMBER = r"\d+(?:,\d{3}(?!\d))*(?:\.\d+)*"  # 500,000 and 1.13 stay one token; 1,5 does not
# Single letters joined by dots, the last dot optional: "U.S." is the term of "US", "U.K." of "UK".
_DOTTED = r"(?<!\w)[^\W\d_](?:\.[^\W\d_])+\.?(?!\w)"
# The e- of electronic things, written with and without its hyphen: "e-mail" is the term of "email".
_E_PREFIXED = r"(?<!\w)[eE]-[^\W\d_]\w*"  # (either case: terms() may read the text unfolded too)
# Where a text may hold one of those two: a lone letter, a dot or a hyphen, a letter. Only such texts
# are read with the pattern that looks for them (see _token_re). (The mark first: the regex engine then
# jumps from mark to mark, 40 times faster on news text than a look back tried at every position.)
_JOINABLE = re.compile(r"[.-](?<=(?<!\w)[^\W\d_][.-])[^\W\d_]")
_APOSTROPHES = "'\u2019"
_STEMMERS = threading.local()  # PyStemmer objects are not thread-safe
# A sentence ends at . ! ? or … (with any closing quotes or brackets) before whitespace and a capital,
# a digit or an opening quote: "Mr Smith. The" ends one, "3.5 per cent" and "e.g. this" do not. Nor does
# the dot of an initial, of an abbreviation or of a title before a name or number: "John F. Kennedy",
# "the U.S. Department", "Mr. Smith", "world No. 1". (Snippets and briefs split sentences with it.)
# (The mark first, the look back after it: the regex engine then jumps from mark to mark instead of
# looking back at every position, which made it 15 times slower.)
SENTENCE_END = re.compile(
    r"[.!?…](?<!\b[A-Z]\.)(?<!\b(?:Mr|Ms|Dr|No|Lt)\.)(?<!\b(?:Mrs|Gen|Sen|Rep|Gov|Col|Sgt|Rev)\.)"
    r"(?<!\b(?:Prof|Capt)\.)[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9£$€])"
)
_NON_ASCII_RUN = re.compile(r"[\x00-\x7f]?[^\x00-\x7f]+")  # one ASCII char ahead: a base for combining marks
_PLAIN = re.compile(r"[^\W_]+")
_HANGUL_JOINERS = range(0x1160, 0x1200)  # jamo vowels/finals compose with the preceding char


@functools.cache
def _mark_pattern() -> str:
    """A regex matching one combining mark (Mn/Mc/Me), which `\\w` leaves out."""
    ranges: list[tuple[int, int]] = []
    for lo, hi in ((0x300, 0x20000), (0xE0000, 0xE1000)):
        for cp in range(lo, hi):
            if unicodedata.category(chr(cp))[0] == "M":
                if ranges and ranges[-1][1] == cp - 1:
                    ranges[-1] = (ranges[-1][0], cp)
                else:
                    ranges.append((cp, cp))

    def klass(part: list[tuple[int, int]]) -> str:
        return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in part)

    bmp = [r for r in ranges if r[1] < 0x10000]
    astral = [r for r in ranges if r[1] >= 0x10000]
    # The BMP class compiles to a fast lookup table; the astral one to a slow range list, so it is
    # only consulted for astral characters.
    return f"[{klass(bmp)}]|(?=[\\U00010000-\\U0010ffff])[{klass(astral)}]"


def _token_pattern(mark: str, *, joining: bool) -> str:
    """Numbers, (when `joining`) dotted abbreviations ("U.S.", "J.K.") and words with the e- prefix
    ("e-mail"), or words: letters/digits (with any combining marks) and single inner apostrophes."""
    word = rf"\w+(?:(?:{mark})+\w*)*" if mark else r"\w+"
    joined = f"{_DOTTED}|{_E_PREFIXED}|" if joining else ""
    return rf"{_NUMBER}|{joined}{word}(?:[{_APOSTROPHES}]{word})*"


# A mark class slows every token down a little, and marks only occur in non-ASCII text.
_ASCII_TOKEN = re.compile(_token_pattern("", joining=False))
_ASCII_JOINING_TOKEN = re.compile(_token_pattern("", joining=True))


@functools.cache
def _unicode_tokens() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The tokenizers for non-ASCII text (which may hold combining marks): plain, and joining."""
    mark = _mark_pattern()
    return re.compile(_token_pattern(mark, joining=False)), re.compile(_token_pattern(mark, joining=True))


def _token_re(folded: str) -> re.Pattern[str]:
    """The tokenizer for a folded text. The joined tokens' alternatives cost a third more on every
    word, so they are only tried in a text that holds one of their starts (_JOINABLE): elsewhere both
    patterns read the same tokens, and so does any piece of a text cut at whitespace."""
    joining = _JOINABLE.search(folded) is not None
    if folded.isascii():
        return _ASCII_JOINING_TOKEN if joining else _ASCII_TOKEN
    return _unicode_tokens()[joining]


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer("english", 0)  # our own cache sits in front of it
        _STEMMERS.english = stemmer
    return stemmer


# The one token whose term hangs on its case: "us" is the pronoun (no term) unless written "US", the
# country ("U.S." and "US's" are the country however written). News writes the country five times as
# often; chat writes the pronoun far more, and a topic or keyword on the US must not hear every "tell us".
_PRONOUN_OR_COUNTRY = "us"
_COUNTRY_SURFACE = "US"
_COUNTRY_TERM = "us"  # (the stem of "U.S.", which the US's other names share: see _PLACE_NAMES)


@functools.lru_cache(maxsize=1 << 18)
def _term_of(raw: str) -> str:
    """The term for one folded token, or "" for a stop word (and for "us": see _PRONOUN_OR_COUNTRY)."""
    if raw[0].isdecimal():
        return raw.replace(",", "")
    if raw == _PRONOUN_OR_COUNTRY:
        return ""
    if "." in raw:  # a dotted abbreviation
        raw = raw.replace(".", "")
    elif "-" in raw:  # e-mail
        raw = raw.replace("-", "")
    if "'" in raw or "\u2019" in raw:
        raw = raw.replace("\u2019", "'")
        if raw in STOP_WORDS:
            return ""
        if raw.endswith("'s"):
            raw = raw[:-2]
        raw = raw.replace("'", "")
    if raw in STOP_WORDS:
        return ""
    stem: str = _stemmer().stemWord(raw)
    return _shared_stems().get(stem, stem)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch)[0] == "M"


def _nfkc_fold(chars: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", chars).casefold())


def _single_token(piece: str) -> bool:
    """True if the tokenizer would read at most one token out of piece, covering it whole."""
    if not any(map(_is_word_char, piece)):
        return True
    # match, not fullmatch: the tokenizer takes the first alternative (the joining one: it reads fewer)
    whole = _unicode_tokens()[True].match(piece)
    return whole is not None and whole.end() == len(piece)


def _fold_cluster(cluster: str) -> str:
    """NFKC + case fold of one base character with its marks, never splitting it into two tokens.

    Two terms from one character would share its span ("½" → "1⁄2", "㏠" → "1日", "２́" → "2" + a mark
    that cannot start a token), so fall back to folding the base alone, then to the cluster as it is.
    """
    piece = _nfkc_fold(cluster)
    if _single_token(piece):
        return piece
    base = _nfkc_fold(cluster[0])
    if _single_token(base):
        return base + cluster[1:]
    return cluster


def _fold_run(run: str, start: int, out: list[tuple[int, int, str]]) -> bool:
    """Fold one non-ASCII run into (orig_start, orig_end, piece) parts; False if done char by char."""
    if unicodedata.is_normalized("NFKC", run):
        folded = run.casefold()
        if len(folded) == len(run) and unicodedata.is_normalized("NFKC", folded):
            out.append((start, start + len(run), folded))
            return True
    i, n = 0, len(run)
    while i < n:
        j = i + 1
        while j < n and (unicodedata.combining(run[j]) or ord(run[j]) in _HANGUL_JOINERS):
            j += 1
        out.append((start + i, start + j, _fold_cluster(run[i:j])))
        i = j
    return False


def _fold(text: str, *, with_map: bool) -> tuple[str, list[int] | None, list[int] | None]:
    """Normalised, case-folded text; with_map adds per-char original start/end offsets when they differ."""
    if text.isascii():
        folded = text.lower()
        return (folded.replace("_", " ") if "_" in folded else folded), None, None
    if unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text) and unicodedata.is_normalized("NFKC", folded):
            return folded.replace("_", " "), None, None  # the usual case: "£", curly quotes, "é"
    parts: list[tuple[int, int, str]] = []
    same_length = True
    pos = 0
    for m in _NON_ASCII_RUN.finditer(text):
        if m.start() > pos:
            parts.append((pos, m.start(), text[pos : m.start()].lower()))
        same_length = _fold_run(m.group(), m.start(), parts) and same_length
        pos = m.end()
    if pos < len(text):
        parts.append((pos, len(text), text[pos:].lower()))
    folded = "".join(piece for _, _, piece in parts).replace("_", " ")
    if same_length or not with_map:
        return folded, None, None
    starts: list[int] = []
    ends: list[int] = []
    for a, b, piece in parts:
        if b - a == len(piece):
            starts.extend(range(a, b))
            ends.extend(range(a + 1, b + 1))
        else:
            starts.extend([a] * len(piece))
            ends.extend([b] * len(piece))
    return folded, starts, ends


def terms(text: str) -> list[str]:
    """The analysed terms of `text`, in order (the fast path used for indexing)."""
    if _COUNTRY_SURFACE in text:  # the country's term hangs on the token's case (_PRONOUN_OR_COUNTRY)
        if "_" in text or not folds_by_character(text):
            return [term for term, _, _ in _analysed(text)]
        # Text that folds character by character (and has no "_", which folds to a space) gives the same
        # tokens read unfolded (the tokenizer's classes ignore case), each in its own case.
        return [
            term
            for surface in _token_re(text).findall(text)
            if len(surface) <= MAX_TOKEN_CHARS and (term := _term_of_cased(surface))
        ]
    folded = _fold(text, with_map=False)[0]
    return [
        term
        for raw in _token_re(folded).findall(folded)
        if len(raw) <= MAX_TOKEN_CHARS and (term := _term_of(raw))
    ]


@functools.lru_cache(maxsize=1 << 16)
def _term_of_cased(surface: str) -> str:
    """_term_of for one token as written, of a text that folds by character (folds_by_character): the
    country "US" apart from the pronoun "us"."""
    raw = surface.lower() if surface.isascii() else surface.casefold()
    return _term_of(raw) or (_COUNTRY_TERM if surface == _COUNTRY_SURFACE else "")


def analyze(text: str) -> list[Token]:
    """The analysed terms of `text` with their character spans in `text` itself."""
    return [Token(term, start, end) for term, start, end in _analysed(text)]


def spans(text: str, wanted: Container[str]) -> list[tuple[int, int]]:
    """The spans analyze(text) gives the terms in `wanted`, in order (without making a Token of each)."""
    return [(start, end) for term, start, end in _analysed(text) if term in wanted]


def first_span(text: str, wanted: Container[str]) -> tuple[int, int] | None:
    """The first of spans(text, wanted), reading `text` only as far as it."""
    return next(((start, end) for term, start, end in _analysed(text) if term in wanted), None)


def find_terms(flat: str, wanted: Collection[str]) -> list[tuple[str, int, int]] | None:
    """Each term of `wanted` in `flat` with its span, in order: exactly what analysing the whole text
    gives for them (analyze, kept to `wanted`), but reading in full only the words that could hold one.

    `flat` has its whitespace collapsed to single spaces. None when it does not fold one character into
    one (folds_by_character), where only analysing it whole is right. A word (a run between spaces)
    can only give a term when, folded and without apostrophes, it holds one of the term's surface keys
    (see _surface_keys): those words are found with str.find and analysed on their own, which gives
    what the whole text gives there because tokens never hold a space.
    """
    if not folds_by_character(flat):
        return None
    wanted = frozenset(wanted)
    folded = flat.lower() if flat.isascii() else flat.casefold()  # (the same length: see above)
    keys = _surface_keys(wanted)
    if _JOINABLE.search(folded):
        keys = _joined_keys(keys)
    words: set[int] = set()  # where the words that may hold a wanted term start
    for key in keys:
        at = folded.find(key)
        while at >= 0:
            words.add(folded.rfind(" ", 0, at) + 1)
            after = folded.find(" ", at + len(key))
            if after < 0:
                break
            at = folded.find(key, after)
    for apostrophe in _APOSTROPHES:  # "o'neill" holds "oneil" only once its apostrophe is gone
        at = folded.find(apostrophe)
        while at >= 0:
            start = folded.rfind(" ", 0, at) + 1
            stop = folded.find(" ", at)
            stop = len(folded) if stop < 0 else stop
            bare = folded[start:stop].replace("'", "").replace("\u2019", "")
            if any(key in bare for key in keys):
                words.add(start)
            at = folded.find(apostrophe, stop)
    found: list[tuple[str, int, int]] = []
    for start in sorted(words):
        stop = folded.find(" ", start)
        stop = len(folded) if stop < 0 else stop
        word = folded[start:stop]
        if word.isascii() and (word.isalpha() or word.isdigit()):  # one token, the word itself
            term = _term_of_cased(flat[start:stop]) if len(word) <= MAX_TOKEN_CHARS else ""
            if term in wanted:
                found.append((term, start, stop))
            continue
        found.extend(
            (term, start + a, start + b) for term, a, b in _analysed(flat[start:stop]) if term in wanted
        )
    return found


@functools.lru_cache(maxsize=4096)
def _surface_keys(wanted: frozenset[str]) -> tuple[str, ...]:
    """Strings one of which every folded, apostrophe-free word analysed into a term of `wanted` holds.

    A number's term is its token without commas, whose last three characters no comma splits. Snowball
    changes only a word's ending: never the first three letters of a stem of three or more, except
    where it ends the stem in "i", "e" or "y" ("cry" → "cri", "using" → "use", "skies" → "sky"), which
    can reach the third letter of a short stem (so two there), and "y" → "ie" ("vying" → "vie"). The
    irregular forms are keyed by their own stems. (tests/test_text.py checks the rule on every BBC News
    word and on suffixed forms of them.)
    """
    keys: set[str] = set()
    for term in wanted:
        for stem in (term, *_shared_stem_sources().get(term, ())):
            if stem[0].isdecimal():
                keys.add(stem[-3:])
                continue
            keys.add(stem[:3] if len(stem) >= 5 or stem[-1] not in "iey" else stem[:2])
            if stem.endswith("ie"):
                keys.add((stem[:-2] + "y")[:2])
    return tuple(sorted(keys))


@functools.lru_cache(maxsize=1024)
def _joined_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Surface keys with each word key also spelled as a dotted abbreviation spells it ("us" → "u.s")
    and, for a key starting with an "e", as the e- prefix does ("ema" → "e-ma"): such a token's term is
    its letters', whose first letters it holds with dots or the hyphen between."""
    joined = {".".join(key) for key in keys if not key[0].isdecimal()}
    joined.update("e-" + key[1:] for key in keys if key[0] == "e" and len(key) > 1)
    return tuple(sorted(set(keys) | joined))


def folds_by_character(text: str) -> bool:
    """Whether analysis folds `text` one character into one (ASCII, or NFKC text whose case folding keeps
    its length, the usual case). Then any piece of it cut at whitespace is analysed into exactly the
    terms, and the spans (moved by the cut), that analysing the whole gives there: tokens never hold
    whitespace, and each character folds on its own."""
    if text.isascii():
        return True
    if not unicodedata.is_normalized("NFKC", text):
        return False
    folded = text.casefold()
    return len(folded) == len(text) and unicodedata.is_normalized("NFKC", folded)


def _analysed(text: str) -> Iterator[tuple[str, int, int]]:
    """Each term of `text` with its span in `text` itself: analyze's loop, shared with spans()."""
    folded, starts, ends = _fold(text, with_map=True)
    for m in _token_re(folded).finditer(folded):
        raw = m.group()
        if len(raw) > MAX_TOKEN_CHARS:
            continue
        term = _term_of(raw)
        if not term and raw != _PRONOUN_OR_COUNTRY:
            continue
        a, b = m.span()
        if raw[-1] == "s" and len(raw) > 2 and raw[-2] in _APOSTROPHES and not raw[0].isdecimal():
            b -= 2  # highlight "OpenAI", not "OpenAI's"
        if starts is not None and ends is not None:
            a, b = starts[a], ends[b - 1]
        if not term:
            if text[a:b] != _COUNTRY_SURFACE:
                continue  # the pronoun
            term = _COUNTRY_TERM
        yield term, a, b


def plain_terms(text: str) -> list[str]:
    """Baseline tokens: lowercase runs of letters/digits; no stop words, no stemming."""
    return _PLAIN.findall(text.lower())
