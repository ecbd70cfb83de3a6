"""The app's clock in tests: moved by the test, never by waiting."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


class TestClock:
    """Reads `now`, then moves it on by `step` (zero: time stands still until the test
    moves it), so that each change can have an instant of its own."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, now: datetime, step: timedelta = timedelta()) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> datetime:
        now = self.now
        self.now += self.step
        return now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def set_day(self, day: date) -> None:
        self.now = datetime.combine(day, time(9), tzinfo=UTC)
