"""The per-user question limit: a sliding window, one "slow down" per window, then silence."""

from __future__ import annotations

from bot.tg.ratelimit import QuestionLimiter, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_then_one_warning_then_silence_then_recovery() -> None:
    clock = Clock()
    limiter = QuestionLimiter(3, clock=clock)
    assert [limiter.check(7) for _ in range(3)] == [Verdict.ANSWER] * 3
    assert limiter.check(7) == Verdict.SLOW_DOWN
    assert limiter.check(7) == Verdict.IGNORE
    assert limiter.check(8) == Verdict.ANSWER  # other users are not affected
    clock.now += 60.0
    assert limiter.check(7) == Verdict.ANSWER


def test_sliding_window_counts_only_the_last_minute() -> None:
    clock = Clock()
    limiter = QuestionLimiter(2, clock=clock)
    limiter.check(1)
    clock.now += 40
    limiter.check(1)
    clock.now += 25  # the first question is now older than a minute
    assert limiter.check(1) == Verdict.ANSWER
    assert limiter.check(1) == Verdict.SLOW_DOWN


def test_forget_idle_users() -> None:
    clock = Clock()
    limiter = QuestionLimiter(1, clock=clock)
    limiter.check(1)
    clock.now += 61
    limiter.forget_idle()
    assert limiter.check(1) == Verdict.ANSWER


def test_a_burst_is_short_and_then_questions_come_one_interval_apart() -> None:
    """20 a minute means at most 3 at once, then one every 3 s: a flood is spread out, not let through in
    one lump at the start of each minute."""
    clock = Clock()
    limiter = QuestionLimiter(20, clock=clock)
    assert [limiter.check(7) for _ in range(4)] == [Verdict.ANSWER] * 3 + [Verdict.SLOW_DOWN]
    clock.now += 2.9
    assert limiter.check(7) == Verdict.IGNORE
    clock.now += 0.2  # three seconds after the burst: room for one more
    assert limiter.check(7) == Verdict.ANSWER
    assert limiter.check(7) == Verdict.IGNORE
    allowed = 0
    for _ in range(600):  # one attempt every 0.1 s for a minute
        clock.now += 0.1
        allowed += limiter.check(7) == Verdict.ANSWER
    assert allowed == 20
