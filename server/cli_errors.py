"""How a command fails: one line on stderr that says what is wrong and what to do, and an
exit code per kind of failure, so scripts can tell them apart. Tracebacks are for bugs."""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1  # a bug: Python's own traceback
    USAGE = 2  # a bad argument or setting (argparse uses 2 as well)
    REFUSED = 3  # an unknown id, or a rule of the domain said no
    FAILED = 4  # the command ran and its work failed: an import job FAILED, a drifted schema
    FILE = 5  # a file or folder: missing input, or output that exists or cannot be written
    UNAVAILABLE = 6  # the database or the broker did not answer
    NOT_MIGRATED = 7  # the database schema is behind the code: run migrate


class CommandError(Exception):
    """An expected failure of a command; `str(error)` is the line the operator reads."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def shown_url(url: str) -> str:
    """A database or broker URL without its password, fit to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def unavailable(what: str, url: str, error: BaseException) -> CommandError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    # SQLAlchemy prefixes the driver's class: "(sqlite3.OperationalError) unable to open..."
    reason = reason.split(") ", 1)[1] if reason.startswith("(") and ") " in reason else reason
    message = f"{what} at {shown_url(url)} did not answer: {reason}"
    return CommandError(message, ExitCode.UNAVAILABLE)
