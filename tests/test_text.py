"""The analyzer: terms and spans, normalisation, numbers, stop words, stemming, the irregular table."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.synth import BBC, read_bbc
from bot.core.corpus import load_corpus
from bot.core.text import (
    ANALYZER_VERSION,
    MAX_TOKEN_CHARS,
    STOP_WORDS,
    analyze,
    find_terms,
    first_span,
    folds_by_character,
    plain_terms,
    spans,
    terms,
)
from tests.conftest import CORPUS


def spans_of(text: str) -> list[tuple[str, str]]:
    return [(token.term, text[token.start : token.end]) for token in analyze(text)]


def test_question_keeps_only_content_words() -> None:
    assert terms("How much did OpenAI lose?") == ["openai", "lose"]
    assert terms("What is the latest on Nvidia's chips?") == ["latest", "nvidia", "chip"]


def test_question_made_of_stop_words_has_no_terms() -> None:
    assert terms("What is it and where was it, when did they do that?") == []
    assert analyze("Who are they?") == []


def test_stop_words_list_is_sane() -> None:
    assert 130 <= len(STOP_WORDS) <= 300
    assert {"the", "a", "how", "what", "when", "did", "does", "of", "in", "which"} <= STOP_WORDS
    # Contractions typed in chat without the apostrophe are stop words, words of their own are not.
    assert terms("im a celebrity, dont ask whats on") == ["celebr", "ask"]
    assert terms("Shell well lets") == ["shell", "well", "let"]
    # "US" the country, "May" the month/surname and "new" must survive
    assert not {"us", "may", "new"} & STOP_WORDS
    assert terms("US sanctions in May") == ["us", "sanction", "may"]


def test_case_folding_and_offsets_on_plain_ascii() -> None:
    text = "Quarterly PROFITS at TimeWarner jumped"
    assert spans_of(text) == [
        ("quarter", "Quarterly"),
        ("profit", "PROFITS"),
        ("timewarn", "TimeWarner"),
        ("jump", "jumped"),
    ]


def test_numbers() -> None:
    assert terms("up 295% to $1.13bn") == ["295", "1.13", "bn"]
    assert terms("500,000 subscribers") == terms("500000 subscribers") == ["500000", "subscrib"]
    assert terms("$1") == ["1"]
    assert terms("12,345,678 and 1,5") == ["12345678", "1", "5"]  # commas only group thousands
    assert terms("version 3.5.1. Done") == ["version", "3.5.1", "done"]
    assert spans_of("lost 464,000 users") == [("lose", "lost"), ("464000", "464,000"), ("user", "users")]


def test_possessives_and_contractions() -> None:
    assert terms("OpenAI's model") == ["openai", "model"]
    assert terms("OpenAI’s model") == ["openai", "model"]  # typographic apostrophe
    assert spans_of("OpenAI's model")[0] == ("openai", "OpenAI")  # the span leaves out the "'s"
    assert terms("it's what we'll do; don't") == []
    assert terms("O'Neill scored") == terms("ONeill scored") == ["oneil", "score"]
    assert terms("the players' union") == ["player", "union"]


def test_hyphenated_words_split() -> None:
    assert terms("AI-powered Model-Context protocol") == ["ai", "power", "model", "context", "protocol"]
    assert spans_of("AI-powered") == [("ai", "AI"), ("power", "powered")]


def test_underscores_split_words() -> None:
    assert terms("snake_case") == ["snake", "case"]


@pytest.mark.parametrize(
    "forms",
    [
        ("lose", "lost", "losing", "loses", "loss", "losses"),
        ("day", "days", "daily"),
        ("year", "years", "yearly", "annual", "annually"),
        ("week", "weekly"),
        ("buy", "bought", "buying"),
        ("sell", "sold", "sales"),
        ("pay", "paid"),
        ("win", "won", "winning"),
        ("run", "ran"),
        ("make", "made"),
        ("die", "died", "death", "deaths"),
        ("grow", "grew", "growth"),
        ("rise", "rose", "risen"),
        ("fall", "fell", "fallen"),
        ("Wales", "Welsh"),
        ("Italy", "Italy's", "Italian", "Italians"),
        ("Germany", "German", "Germans"),
        ("Israel", "Israeli", "Israelis"),
        ("Scotland", "Scottish", "Scots"),
        ("Britain", "British", "Briton", "UK"),
        ("US", "U.S.", "U.S", "u.s.", "US's", "USA", "U.S.A.", "America", "American", "Americans"),
        ("UK", "U.K."),
        ("organisation", "organization", "organised", "organized", "organising"),
        ("colour", "color", "colours", "colored"),
        ("centre", "center", "centres", "centered"),
        ("defence", "defense"),
        ("programme", "program", "programmes"),
        ("favourite", "favorite"),
        ("criticise", "criticize", "criticised"),
        ("analyse", "analyze", "analysed"),
        ("theatre", "theater"),
        ("grey", "gray"),
        ("email", "e-mail", "E-mails", "emailed", "e-mailed"),
        ("ecommerce", "e-commerce"),
        ("JK", "J.K."),
    ],
)
def test_word_forms_share_one_term(forms: tuple[str, ...]) -> None:
    assert len({tuple(terms(form)) for form in forms}) == 1, {form: terms(form) for form in forms}


def test_differently_phrased_questions_meet_the_article() -> None:
    article = set(terms("The company said its losses widened as daily sales fell."))
    assert set(terms("How much did the company lose each day?")) <= article
    assert set(terms("Did sales fall?")) <= article


def test_a_place_and_its_people_meet() -> None:
    article = "The Welsh Rugby Union wants the Italian side to play in April."
    assert set(terms("Wales union Italy")) <= set(terms(article))
    # Highlights land on the article's own words.
    assert [article[a:b] for a, b in spans(article, set(terms("Wales Italy")))] == ["Welsh", "Italian"]


def test_a_dotted_abbreviation_is_one_term_spanning_its_dots() -> None:
    text = "Troops left the U.S. base, J.K. Rowling said, at 3 p.m. near x.ai."
    assert [(t.term, text[t.start : t.end]) for t in analyze(text)] == [
        ("troop", "Troops"),
        ("left", "left"),
        ("us", "U.S."),
        ("base", "base"),
        ("jk", "J.K."),
        ("rowl", "Rowling"),
        ("say", "said"),
        ("3", "3"),
        ("pm", "p.m."),
        ("x", "x"),
        ("ai", "ai"),
    ]


def test_a_question_spelt_the_american_way_meets_a_british_story() -> None:
    story = "The organisers said the theatre's defence of its programme was a favourite talking point."
    question = "What did the organizers say about the theater's defense of its program?"
    assert set(terms(question)) <= set(terms(story))
    highlighted = [story[a:b] for a, b in spans(story, set(terms(question)))]
    assert highlighted == ["organisers", "said", "theatre", "defence", "programme"]


CASED_WORDS = (  # noqa: SIM905 (a sentence of words reads better than a list literal)
    "US us Us uS US's U.S. £5m café Straße ﬁnance E-mail x_US İst ΣΑΣ Ünited e\u0301té don’t America "
    "state-owned J.K. 3.5"
).split()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CASED_WORDS), max_size=12), st.sampled_from([" ", "\n", ", ", " - "]))
def test_terms_read_the_case_of_us_as_analyze_does(words: list[str], glue: str) -> None:
    """terms() reads text holding "US" unfolded (in its own case) where that gives the same tokens; it
    must agree with analyze() everywhere, and analyze() with find_terms()."""
    text = glue.join(words)
    assert terms(text) == [t.term for t in analyze(text)]
    flat = " ".join(text.split())
    if folds_by_character(flat):
        wanted = set(terms("US America"))
        assert find_terms(flat, wanted) == [
            (t.term, t.start, t.end) for t in analyze(flat) if t.term in wanted
        ]


def test_words_kept_apart_from_places() -> None:
    # Surnames and common words that are also peoples' names keep their own terms.
    for word, place in (("Jordan", "Jordanian"), ("Holland", "Netherlands"), ("polish", "Poland")):
        assert terms(word) != terms(place)


def test_the_pronoun_us_is_no_term_but_the_country_is() -> None:
    text = "Tell us what the US and the U.S. Army said to Us Weekly about America."
    assert terms(text) == ["tell", "us", "us", "armi", "say", "week", "us"]
    assert [text[a:b] for a, b in spans(text, set(terms("US")))] == ["US", "U.S.", "America"]
    assert find_terms(text, {"us"}) == [("us", 17, 19), ("us", 28, 32), ("us", 62, 69)]
    assert terms("let us know") == terms("let know")


def test_nfkc_offsets_map_back_to_the_original_text() -> None:
    text = "The ﬁnance chief said ２９５％ — ＡＩ spending"
    assert spans_of(text) == [
        ("financ", "ﬁnance"),
        ("chief", "chief"),
        ("say", "said"),
        ("295", "２９５"),
        ("ai", "ＡＩ"),
        ("spend", "spending"),
    ]


def test_nfkc_and_case_folding_unify_forms() -> None:
    assert terms("ﬁnance") == terms("finance")
    assert terms("２９５") == terms("295")
    assert terms("STRASSE") == terms("Straße")
    assert terms("Café") == terms("cafe\u0301")  # composed and decomposed accents
    assert spans_of("cafe\u0301 x") == [("café", "cafe\u0301"), ("x", "x")]


def test_a_character_that_normalises_to_two_words_stays_one_token() -> None:
    # "½" would become "1⁄2" and "㏠" "1日": both tokens would share one character's span.
    tokens = analyze("½ cup ㏠")
    assert [t.term for t in tokens] == ["½", "cup"]
    assert tokens[0].start == 0 and tokens[0].end == 1


def test_non_latin_words_keep_their_marks() -> None:
    text = "हिन्दी भाषा"
    assert spans_of(text) == [("हिन्दी", "हिन्दी"), ("भाषा", "भाषा")]


def test_plain_terms_baseline() -> None:
    assert plain_terms("How much did OpenAI's AI-powered unit lose? 500,000") == [
        "how",
        "much",
        "did",
        "openai",
        "s",
        "ai",
        "powered",
        "unit",
        "lose",
        "500",
        "000",
    ]


def test_version_is_a_string() -> None:
    assert isinstance(ANALYZER_VERSION, str) and ANALYZER_VERSION


def assert_well_formed(text: str) -> None:
    tokens = analyze(text)
    assert [t.term for t in tokens] == terms(text)
    previous_end = 0
    for token in tokens:
        assert 0 <= previous_end <= token.start < token.end <= len(text)
        previous_end = token.end
        assert token.term and token.term == token.term.strip()


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_analyze_never_raises_and_spans_are_ordered(text: str) -> None:
    assert_well_formed(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZ9 .,'’-_%$½ﬁ２Åe\u0301\u093f\u0915ß㏠İΣ\u00a0\n"), max_size=40))
def test_tricky_alphabet_spans_reanalyse_to_their_terms(text: str) -> None:
    assert_well_formed(text)
    for token in analyze(text):
        # the span alone yields the same term (context never changes what a span means)
        assert terms(text[token.start : token.end]) == [token.term]


def test_a_token_longer_than_any_word_is_not_a_term() -> None:
    """An article that is one 4.9 MB "word" (or a base64 blob) gives no term: it would never match a
    question, and every analysis of it would pay for stemming and hashing it."""
    assert terms("x" * MAX_TOKEN_CHARS) == ["x" * MAX_TOKEN_CHARS]
    assert terms("harbour " + "x" * (MAX_TOKEN_CHARS + 1) + " crane") == terms("harbour crane")
    assert [t.term for t in analyze("a " + "7" * 5_000_000 + " tide")] == ["tide"]


TRICKY = "aZ9 .,'’-_%$½ﬁ２Åe\u0301\u093f\u0915ß㏠İΣ\u00a0\n"


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(TRICKY), max_size=60),
    st.sets(st.sampled_from(["a", "z9", "ss", "σ", "e"])),
)
def test_spans_are_the_spans_analyze_gives(text: str, wanted: set[str]) -> None:
    expected = [(t.start, t.end) for t in analyze(text) if t.term in wanted]
    assert spans(text, wanted) == expected
    assert first_span(text, wanted) == (expected[0] if expected else None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(TRICKY.replace(" ", "").replace("\n", "")), max_size=8)))
def test_text_folded_by_character_analyses_the_same_in_pieces(words: list[str]) -> None:
    """Cut at spaces, text that folds character by character gives each piece the terms and spans
    (moved by the cut) of the whole: what snippets rely on to analyse a sentence at once."""
    text = " ".join(words)
    if not folds_by_character(text):
        return
    whole = [(t.term, t.start, t.end) for t in analyze(text)]
    cut: list[tuple[str, int, int]] = []
    at = 0
    for word in words:
        cut.extend((t.term, at + t.start, at + t.end) for t in analyze(word))
        at += len(word) + 1
    assert cut == whole


def test_which_texts_fold_by_character() -> None:
    assert folds_by_character("Plain ASCII, 500,000 words.")
    assert folds_by_character("£5m for the café’s “new” menu")  # the usual news text
    assert not folds_by_character("Straße")  # ß folds to ss
    assert not folds_by_character("ﬁnance")  # not NFKC


# Words whose terms are not a plain prefix of them: irregular forms, y → i, "vying" → "vie", inner
# apostrophes, numbers with commas; and text that does not fold by character (ß, ﬁ).
AWKWARD_WORDS = (  # noqa: SIM905 (a sentence of words reads better than a list literal)
    "went gone goes going went. annual annually daily died dying death vying vie lying lied ties tying "
    "cry cries cried happy happiness studies studying O'Neill O'Neill's o’neill rock'n'roll OpenAI's "
    "1,500 1500 1,500,000 2004, 3.5 £5m $2bn 10:30 state-owned e-mail sold sale sells bought losses "
    "lost growth grew Straße ﬁnance café’s naïve Zürich news skies sky idly early only singly ugly "
    "generously organisation organizational relational relate abilities ability possibly hop hoping "
    "Wales Welsh Italy Italian Italians Israeli Israel France French UK Britain Briton US American "
    "U.S. U.K. u.s U.S.-led U.S.'s J.K. e.g. i.e. a.m. p.m. x.ai 3.5p U.S.A. No. organisation "
    "organization organised colour color centre centred center defence defense programme grey gray "
    "e-mail e-mails E-Mail email e-commerce the-e-mail e-2 e- -e us US Us uS US's us's"
).split()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(AWKWARD_WORDS), st.sampled_from(["", ",", ".", ":", "'s", "-", '"', "_x"])),
        max_size=25,
    ),
    st.lists(st.sampled_from(AWKWARD_WORDS), max_size=6),
)
def test_find_terms_gives_what_analysing_the_whole_text_gives(
    words: list[tuple[str, str]], asked: list[str]
) -> None:
    flat = " ".join(word + tail for word, tail in words)
    wanted = {term for word in asked for term in terms(word)}
    found = find_terms(flat, wanted)
    if not folds_by_character(flat):
        assert found is None
        return
    assert found == [(t.term, t.start, t.end) for t in analyze(flat) if t.term in wanted]


def test_find_terms_on_the_bundled_articles() -> None:
    rng = random.Random(5)
    for article in load_corpus(CORPUS).articles:
        flat = " ".join(article.body.split())
        words = terms(flat)
        for size in (1, 3, 8, len(words)):
            wanted = set(rng.sample(words, min(size, len(words))))
            expected = [(t.term, t.start, t.end) for t in analyze(flat) if t.term in wanted]
            assert find_terms(flat, wanted) == expected


@pytest.mark.skipif(not BBC.is_file(), reason="BBC News data (../shared/data) is not beside the repository")
def test_every_bbc_word_and_its_suffixed_forms_hold_their_terms_surface_key() -> None:
    """The rule find_terms relies on, on real vocabulary and on every word with common English endings
    added (Snowball reshapes the endings, so those are what could break it)."""
    vocabulary: set[str] = set()
    for article in read_bbc(BBC):
        vocabulary.update(" ".join((article.title, article.body)).split())
    endings = "s es ed ing ly ies y ied ation ational ness ful ize ization ality ility ement ence er ous ive"
    rng = random.Random(6)
    words = sorted(vocabulary)
    words += [word + ending for word in rng.sample(words, 3000) for ending in endings.split()]
    missed = [
        word
        for word in words
        if folds_by_character(word)
        and find_terms(word, set(terms(word))) != [(t.term, t.start, t.end) for t in analyze(word)]
    ]
    assert missed == []
