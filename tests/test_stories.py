"""Story grouping: copies and rewrites join their story, other events of the same subject do not, and the
index is deterministic, windowed and round-trips through plain data. Articles here are written for the
tests; the BBC check skips cleanly without ../shared."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bench.rewrite import MODES, rewrite
from bench.stories import PAIRS, quality, read_pairs, summarise
from bench.synth import BBC, read_bbc
from bot.core.models import Article
from bot.core.stories import Reason, StoryIndex, collapse

DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _article(id_: str, title: str, body: str, *, hours: float = 0, source: str = "Desk") -> Article:
    return Article(id=id_, title=title, body=body, source=source, published=DAY + timedelta(hours=hours))


FERRY = _article(
    "ferry",
    "Harbour council approves new ferry terminal",
    "Councillors in Port Alder voted 9-2 on Monday to approve a new ferry terminal on the north quay. "
    "The terminal will cost £48m and is expected to open in 2028, the council said. "
    "Opponents warned that traffic on Quay Road would double once the ferries start running. "
    "The harbour master, Elin Marsh, said the old pier could no longer take the larger ships.\n\n"
    "Work on the site is due to begin in the spring after a final survey of the sea wall. "
    "Local businesses said the plan would bring visitors to the town centre all year round.",
)
ROVERS_WIN = _article(
    "rovers-win",
    "Rovers beat United to go top",
    "Kettle Rovers beat Mill United 3-1 at Brook Park on Saturday to go top of the league. "
    "Sam Okafor scored twice before half-time and Lee Dunne added a third from the penalty spot. "
    "United pulled one back through Tom Reyes late in the game. "
    "Rovers manager Ana Pike said her side had played their best football of the season.",
)
ROVERS_LOSE = _article(
    "rovers-lose",
    "Rovers beaten by City",
    "Kettle Rovers lost 2-0 to Ash City at Brook Park on Wednesday, their first home defeat of the season. "
    "Jon Abbot headed City in front and Paul Grey sealed it in stoppage time. "
    "Rovers manager Ana Pike said her side had been second best all night. "
    "Rovers stay top of the league on goal difference.",
    hours=72,
)
ACME_Q3 = _article(
    "acme-q3",
    "Acme profits rise in third quarter",
    "Acme Tools said third-quarter profits rose 12% to £210m as demand for garden machinery grew. "
    "Sales in Europe climbed 8%, the company said, while the US business was flat. "
    "Chief executive Rita Vance said the firm expected a strong Christmas.",
)
ACME_Q4 = _article(
    "acme-q4",
    "Acme profits fall in fourth quarter",
    "Acme Tools said fourth-quarter profits fell 5% to £190m after a weak Christmas for garden machinery. "
    "Sales in Asia dropped 11%, the company said, and it will close its plant in Leeds. "
    "Chief executive Rita Vance said the firm had been hit by the warm winter.",
    hours=60,
)
# A later step of one matter, with the same cast: a rewrite's bar is passed, yet they are different events.
TRIAL_SET = _article(
    "trial-set",
    "Quarry Lane fraud trial date set",
    "A judge at Hallam Crown Court has set a date for the trial of three former directors of Brindle Homes "
    "over the Quarry Lane housing fraud. "
    "The three deny taking £4m in deposits for flats that were never built. "
    "Judge Maria Okonjo said the case would take at least six weeks to hear. "
    "About 200 buyers lost money when Brindle Homes collapsed in 2023.",
)
TRIAL_POSTPONED = _article(
    "trial-postponed",
    "Quarry Lane fraud trial postponed",
    "A judge at Hallam Crown Court has postponed the trial of three former directors of Brindle Homes over "
    "the Quarry Lane housing fraud. "
    "Lawyers for one of the men asked Judge Maria Okonjo for more time to read the evidence. "
    "The three deny taking £4m in deposits from buyers of flats that were never built. "
    "About 200 buyers lost money when Brindle Homes collapsed in 2023.",
    hours=30,
)
TRIAL_ADJOURNED = _article(
    "trial-adjourned",
    "Quarry Lane fraud trial adjourned",
    "A judge at Hallam Crown Court has adjourned the trial of three former directors of Brindle Homes over "
    "the Quarry Lane housing fraud. "
    "Judge Maria Okonjo agreed to give lawyers for one of the men more time to read the evidence. "
    "The three deny taking £4m in deposits for flats that were never built.",
    hours=32,
    source="Gazette",
)
CUP_SEMI = _article(
    "cup-semi",
    "Okafor double sends Rovers into county cup final",
    "Kettle Rovers beat Ash City 2-0 at Brook Park on Saturday to reach the county cup final. "
    "Sam Okafor scored both goals for Rovers in the second half. "
    "Rovers manager Ana Pike said her side had played their best football of the season. "
    "Rovers have not won the county cup since 1998.",
)
CUP_FINAL = _article(
    "cup-final",
    "Okafor double wins county cup final for Rovers",
    "Kettle Rovers beat Mill United 2-1 at Brook Park on Saturday to win the county cup final. "
    "Sam Okafor scored both goals for Rovers in the second half. "
    "Rovers manager Ana Pike said her side had played their best football of the season. "
    "Rovers had not won the county cup since 1998.",
    hours=60,
)
FILLER = [
    _article(f"filler-{n}", title, body, hours=-48 + n)
    for n, (title, body) in enumerate(
        [
            (
                "Library opens late on Fridays",
                "The town library will stay open until nine on Fridays from May.",
            ),
            (
                "Bus fares frozen",
                "Bus fares in the county will not rise this year, the transport board said.",
            ),
            (
                "New head for Hill School",
                "Hill School has named Ada Brook as its new head teacher from September.",
            ),
            ("Storm closes coast road", "High winds closed the coast road for six hours on Sunday night."),
        ]
    )
]


def _index(*articles: Article) -> StoryIndex:
    index = StoryIndex()
    index.add_all([*FILLER, *articles])
    return index


def test_a_copy_joins_the_story_of_its_original() -> None:
    copy = replace(
        FERRY,
        id="ferry-copy",
        title="Ferry terminal approved",
        source="Wire",
        published=DAY + timedelta(hours=3),
    )
    index = _index(FERRY)
    assignment = index.add(copy)
    assert (assignment.story_id, assignment.reason, assignment.matched) == ("ferry", Reason.COPY, "ferry")
    story = index.story("ferry")
    assert story is not None
    assert story.article_ids == ("ferry", "ferry-copy") and story.sources == ("Desk", "Wire")
    assert story.headline == "ferry"  # the earliest


@pytest.mark.parametrize("mode", MODES)
def test_a_rewrite_joins_the_story_of_its_original(mode: str) -> None:
    other = replace(rewrite(FERRY, mode, seed=1), published=DAY + timedelta(hours=5))
    index = _index(FERRY, ROVERS_WIN, ACME_Q3)
    assignment = index.add(other)
    assert assignment.story_id == "ferry" and assignment.reason in (Reason.REWRITE, Reason.COPY)


def test_an_earlier_member_becomes_the_headline() -> None:
    index = _index(FERRY)
    earlier = replace(FERRY, id="ferry-first", source="Gazette", published=DAY - timedelta(hours=2))
    assignment = index.add(earlier)
    assert assignment.headline_changed
    story = index.story("ferry")
    assert story is not None and story.headline == "ferry-first" and story.id == "ferry"


def test_different_events_of_one_subject_stay_apart() -> None:
    index = _index(ROVERS_WIN, ACME_Q3)
    assert index.add(ROVERS_LOSE).is_new
    assert index.add(ACME_Q4).is_new
    assert index.story_count == len(FILLER) + 4


def test_a_later_step_or_other_facts_keep_similar_reports_apart() -> None:
    index = _index(TRIAL_SET, CUP_SEMI)
    # "Postponed": a step of a kind the first report never mentions. "Mill United": each lead names an
    # opponent the other report never mentions.
    assert index.add(TRIAL_POSTPONED).is_new
    assert index.add(CUP_FINAL).is_new
    # The same step in other words (postponed, adjourned) is the same happening.
    assert index.add(TRIAL_ADJOURNED).story_id == "trial-postponed"
    for mode in MODES:
        for original in (TRIAL_POSTPONED, CUP_FINAL):
            other = replace(rewrite(original, mode, seed=1), published=DAY + timedelta(hours=70))
            assert index.add(other).story_id == original.id


def test_the_time_window_is_respected_and_undated_articles_still_group() -> None:
    index = _index(FERRY)
    late = replace(FERRY, id="ferry-late", published=DAY + timedelta(days=10))
    assert index.add(late).is_new
    undated = replace(FERRY, id="ferry-undated", published=None)
    assert index.add(undated).story_id in {"ferry", "ferry-late"}
    plain = StoryIndex()
    first = plain.add(replace(ROVERS_WIN, published=None))
    again = plain.add(replace(ROVERS_WIN, id="rovers-again", published=None, title="Rovers top after win"))
    assert first.is_new and again.story_id == "rovers-win"


def test_assignments_are_deterministic_and_story_ids_are_founders() -> None:
    sequence = [*FILLER, FERRY, ROVERS_WIN, replace(FERRY, id="ferry-2", source="Wire"), ROVERS_LOSE]
    first = StoryIndex().add_all(sequence)
    second = StoryIndex().add_all(sequence)
    assert first == second
    assert [a.story_id for a in first[-4:]] == ["ferry", "rovers-win", "ferry", "rovers-lose"]


def test_plain_data_round_trip_gives_the_same_stories_and_later_assignments() -> None:
    index = _index(FERRY, ROVERS_WIN, ACME_Q3)
    data = json.loads(json.dumps(index.to_data()))
    restored = StoryIndex.from_data(data)
    assert list(restored.stories()) == list(index.stories())
    later = [replace(rewrite(FERRY, "teaser"), published=DAY + timedelta(hours=2)), ROVERS_LOSE, ACME_Q4]
    assert restored.add_all(later) == index.add_all(later)
    rebuilt = StoryIndex.rebuilt([*FILLER, FERRY, ROVERS_WIN, ACME_Q3, *later])
    assert rebuilt.to_data() == index.to_data()
    with pytest.raises(ValueError):
        StoryIndex.from_data({**data, "version": "0"})


def test_an_article_is_added_once() -> None:
    index = _index(FERRY)
    with pytest.raises(ValueError):
        index.add(FERRY)
    assert index.story_of("ferry") == "ferry" and index.story_of("nope") is None
    assert index.story("nope") is None


def test_the_labelled_set_is_big_enough_honest_about_its_split_and_holds_no_text() -> None:
    pairs = read_pairs(PAIRS)
    assert sum(p["same"] for p in pairs) >= 180 and sum(not p["same"] for p in pairs) >= 280
    assert {p["split"] for p in pairs} == {"dev", "test"}
    assert 0.2 <= sum(p["split"] == "test" for p in pairs) / len(pairs) <= 0.4
    for pair in pairs:
        assert set(pair) == {"a", "b", "same", "kind", "split"}
        assert pair["same"] == (pair["kind"] != "different-event")
        assert pair["a"] != pair["b"]
    assert len({(p["a"], p["b"]) for p in pairs}) == len(pairs)


@pytest.mark.skipif(not BBC.is_file(), reason="BBC News data (../shared/data) is not beside the repository")
def test_bbc_copies_are_grouped() -> None:
    articles = {a.id: a for a in read_bbc()}
    copies = [p for p in read_pairs(PAIRS) if p["kind"] == "copy"][:40]
    index = StoryIndex()
    for pair in copies:
        for key in ("a", "b"):
            if pair[key] not in index:
                index.add(articles[pair[key]])
    assert all(index.story_of(p["a"]) == index.story_of(p["b"]) for p in copies)


# --------------------------------------------------------------------------- eviction and restoring


def _ferry_copy(id_: str, hours: float) -> Article:
    return replace(FERRY, id=id_, source="Wire", published=DAY + timedelta(hours=hours))


def test_articles_past_the_window_are_evicted_but_stay_known() -> None:
    index = _index(FERRY)
    assert index.live_count == len(FILLER) + 1
    # A week later the ferry report can no longer be joined: a copy of it starts its own story…
    later = [
        replace(f, id=f"{f.id}-late", published=DAY + timedelta(days=8, hours=n))
        for n, f in enumerate(FILLER)
    ]
    index.add_all(later)
    assert index.live_count == len(later)
    assert index.add(_ferry_copy("ferry-week-on", 24 * 8)).is_new
    # …yet the evicted report still answers for its story.
    assert index.story_of("ferry") == "ferry"
    story = index.story("ferry")
    assert story is not None and story.article_ids == ("ferry",)


def test_a_late_report_still_meets_its_story() -> None:
    index = _index(FERRY)
    index.add(replace(ROVERS_WIN, published=DAY + timedelta(days=5)))  # the clock moves on five days
    late = _ferry_copy("ferry-late-copy", 30)  # published the day after the ferry report, fetched now
    assert index.add(late).story_id == "ferry"


def test_undated_articles_go_by_the_time_they_were_added() -> None:
    index = StoryIndex()
    undated = replace(FERRY, published=None)
    index.add(undated, at=DAY)
    index.add(replace(ROVERS_WIN, published=None), at=DAY + timedelta(days=2))
    assert index.live_count == 2
    index.advance(DAY + timedelta(days=7))  # more than KEEP after the ferry report was added
    assert index.live_count == 1
    assert index.add(replace(FERRY, id="ferry-again", published=None), at=DAY + timedelta(days=7)).is_new
    # Without `at`, an undated article is never evicted.
    kept = StoryIndex()
    kept.add(undated)
    kept.add(replace(ROVERS_WIN, published=DAY + timedelta(days=30)))
    assert kept.add(replace(FERRY, id="ferry-again", published=None)).story_id == "ferry"


def test_an_article_too_old_to_meet_anything_costs_no_analysis() -> None:
    index = _index(FERRY)
    index.advance(DAY + timedelta(days=30))
    assert index.live_count == 0
    old = index.add(_ferry_copy("ferry-archive", 0))
    assert old.is_new and index.live_count == 0 and index.story_of("ferry-archive") == "ferry-archive"


def test_restoring_records_gives_the_same_stories_and_matches_live_articles() -> None:
    sequence = [*FILLER, FERRY, ROVERS_WIN, _ferry_copy("ferry-2", 2), ACME_Q3]
    now = DAY + timedelta(days=1)
    original = StoryIndex()
    original.add_all(sequence, at=now)
    records = [original.record(a.id, now) for a in sequence]
    restored = StoryIndex()
    restored.advance(now)
    by_id = {a.id: a for a in sequence}
    for record in records:
        assert record is not None
        restored.restore(record, by_id[record.article_id])
    assert list(restored.stories()) == list(original.stories())
    assert restored.live_count == original.live_count
    assert restored.add(_ferry_copy("ferry-3", 5), at=now).story_id == "ferry"
    # A member whose founder is no longer in the archive keeps the founder's story id.
    partial = StoryIndex()
    for record in records:
        assert record is not None
        if record.article_id != "ferry":
            partial.restore(record, by_id[record.article_id])
    assert partial.story_of("ferry-2") == "ferry"
    story = partial.story("ferry")
    assert story is not None and story.article_ids == ("ferry-2",)
    with pytest.raises(ValueError):
        partial.restore(records[0])  # type: ignore[arg-type]


def test_plain_data_round_trip_after_evictions() -> None:
    index = _index(FERRY, ROVERS_WIN)
    index.add(replace(ACME_Q3, published=DAY + timedelta(days=9)))
    data = json.loads(json.dumps(index.to_data()))
    restored = StoryIndex.from_data(data)
    later = [replace(ACME_Q4, published=DAY + timedelta(days=9, hours=1)), _ferry_copy("ferry-old", 1)]
    assert restored.add_all(later) == index.add_all(later)
    assert restored.to_data() == index.to_data()


@pytest.mark.skipif(not BBC.is_file(), reason="BBC News data (../shared/data) is not beside the repository")
def test_labelled_pairs_precision_and_recall_per_split() -> None:
    # The rules were tuned on the dev split only; the test split is held out. Target 0.95 precision: measured
    # 0.982 on dev (2 of 203 hard negatives merged) and 0.969 on test (2 of 81), with the conflicts of
    # version 3; the floors leave room for one more false merge on either split.
    rows = quality(read_bbc(), read_pairs(PAIRS), rewrites=False)["rows"]
    summary = {(row["split"], row["kind"]): row for row in summarise(rows)}
    assert summary[("dev", "precision (labelled pairs)")]["value"] >= 0.97
    assert summary[("test", "precision (labelled pairs)")]["value"] >= 0.95
    for split in ("dev", "test"):
        assert summary[(split, "recall (copies + rewrites)")]["value"] >= 0.98  # copies and near-copies here


def test_collapse_keeps_each_story_once_at_its_best_rank() -> None:
    story = {"a1": "a", "a2": "a", "b1": "b", "a3": "a", "c1": None, "b2": "b", "d1": "d"}
    ranked = ["a1", "a2", "b1", "a3", "c1", "b2", "d1"]
    assert collapse(ranked, story.get) == (["a1", "b1", "c1", "d1"], 7)
    # A page of two: the items used up include the reports of its stories skipped on the way (a3 too).
    assert collapse(ranked, story.get, 2) == (["a1", "b1"], 4)
    assert collapse(ranked[4:], story.get, 2) == (["c1", "b2"], 2)
    assert collapse([], story.get, 2) == ([], 0)
