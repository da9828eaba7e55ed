"""The one backoff: doubling pauses up to a ceiling, jitter within the step, a reset after success."""

from shared.retry import Backoff


def test_pauses_double_up_to_the_ceiling_and_reset_starts_over():
    b = Backoff(first=0.1, ceiling=0.5)
    assert [b.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    b.reset()
    assert b.next() == 0.1


def test_jittered_pauses_stay_within_each_step():
    b = Backoff(first=0.01, ceiling=0.08, jitter=True)
    for step in (0.01, 0.02, 0.04, 0.08, 0.08):
        assert 0 <= b.next() <= step


def test_a_zero_ceiling_never_waits():
    assert Backoff(ceiling=0).next() == 0
