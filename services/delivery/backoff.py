"""When a delivery that failed for a while is tried again: exponential backoff with
jitter, so that a destination coming back is not met by every retry at once."""

from __future__ import annotations

import random
from datetime import timedelta

_MAX_DOUBLINGS = 40  # far past any cap; keeps the arithmetic finite


def retry_delay(
    attempts: int, base: timedelta, cap: timedelta, rng: random.Random | None = None
) -> timedelta:
    """After the `attempts`-th failed attempt: base * 2^(attempts-1), at most `cap`, of
    which a random part ("equal jitter"): between half the delay and all of it."""
    doublings = min(max(attempts - 1, 0), _MAX_DOUBLINGS)
    seconds = min(cap.total_seconds(), base.total_seconds() * 2**doublings)
    return timedelta(seconds=seconds * (rng or random).uniform(0.5, 1.0))


def scheduled_delay(
    attempts: int, schedule: tuple[timedelta, ...], rng: random.Random | None = None
) -> timedelta:
    """After the `attempts`-th failed attempt, the schedule's delay for it (the last one
    repeats), within 10% either way: the schedule's sum holds within 10%, so a schedule
    of 27 hours retries for at least 24."""
    delay = schedule[min(max(attempts - 1, 0), len(schedule) - 1)]
    return delay * (rng or random).uniform(0.9, 1.1)
