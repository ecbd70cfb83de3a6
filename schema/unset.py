"""Optional input fields: left out (UNSET) means "keep"; services take None for that."""

from __future__ import annotations

from typing import TypeVar

from strawberry import UNSET

T = TypeVar("T")


def given(value: T | None) -> T | None:
    return None if value is UNSET else value
