"""Per-key rate limit and de-duplication windows, with an injected clock."""

from __future__ import annotations

from tradovate_api.notify import KeyLimiter, Verdict


def test_hourly_budget_per_key_refills_as_the_window_slides() -> None:
    limiter = KeyLimiter(max_per_hour=3, dedupe_seconds=0)
    verdicts = [limiter.admit("md.down", ("md.down", i), now=float(i)) for i in range(5)]
    assert verdicts == [Verdict.SEND] * 3 + [Verdict.RATE_LIMITED] * 2
    assert limiter.admit("auth.failed", "x", now=5.0) is Verdict.SEND  # other keys unaffected
    assert limiter.admit("md.down", "late", now=3599.0) is Verdict.RATE_LIMITED
    assert limiter.admit("md.down", "late", now=3600.0) is Verdict.SEND  # first one expired
    assert limiter.admit("md.down", "later", now=3600.5) is Verdict.RATE_LIMITED


def test_duplicates_are_suppressed_for_the_dedupe_window_after_the_last_send() -> None:
    limiter = KeyLimiter(max_per_hour=100, dedupe_seconds=600)
    same = ("fill", "Filled", "1 @ 5000")
    assert limiter.admit("fill", same, now=0.0) is Verdict.SEND
    assert limiter.admit("fill", same, now=599.0) is Verdict.DUPLICATE
    assert limiter.admit("fill", ("fill", "Filled", "2 @ 5001"), now=599.0) is Verdict.SEND
    # Suppressed repeats do not extend the window: the condition is reported again.
    assert limiter.admit("fill", same, now=600.0) is Verdict.SEND


def test_memory_stays_bounded_with_many_distinct_keys_and_messages() -> None:
    limiter = KeyLimiter(max_per_hour=2, dedupe_seconds=600, memory=50)
    for index in range(5000):
        assert limiter.admit(f"key{index}", index, now=float(index)) is Verdict.SEND
    assert len(limiter._sent) <= 50
    assert len(limiter._fingerprints) <= 50
    # The most recent keys are still limited.
    limiter.admit("key4999", "again", now=5000.0)
    assert limiter.admit("key4999", "third", now=5001.0) is Verdict.RATE_LIMITED
