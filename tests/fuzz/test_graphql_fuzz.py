"""Schemathesis against the GraphQL endpoint: no generated operation may crash the server
(HTTP 5xx, or an exception escaping the app) or come back with an unmasked bug: an error
whose `extensions.code` is INTERNAL_SERVER_ERROR (what MaskUnexpectedErrors turns an
unexpected exception into, see schema/errors.py), or an error raised while executing that
carries no code at all.

Each query and mutation of schema.graphql is a test of its own, run in process against
`create_app` on a fresh copy of a seeded SQLite database (the role world, plus credential
types and credentials in every state, in both organizations), as the world's admin (every
permission). Schemathesis generates the documents, valid ones (three in four) and invalid
ones; a `flatmap_body` hook (tests/fuzz/literals.py) puts seeded ids into most `ID`
literals, calendar-edge and near-today days into most `Date` literals, real and crafted
cursors into `after`, allowed page sizes into `first` and small numbers into
`expectedRevision`, so that mutations reach the lifecycle rules instead of stopping at
"not found". The app's clock starts on a fixed day and moves one second a reading (so the
per-token rate limit refills).

    .venv/bin/pytest tests/fuzz                     # CI: 550 generated operations
    FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/fuzz  # nightly-style: 5000

FUZZ_EXAMPLES is the total number of generated operations, spread evenly over the
operations of the schema (add `-n auto` to spread the tests over the cores). SQLite only:
the test builds its database from the session's SQLite templates and never asks for the
`backend` fixture.

Generation is derandomized (a fixed seed per test) and leaves out the constants
schemathesis would harvest from the app's source: the same command sends the same
operations. Hypothesis itself draws a few constants from the project modules a process has
loaded, so another process layout (a different `-n`) or a code change may change some.

A failure names the operation, the generated document and the server's traceback (the
"credentials.errors" log, captured with caplog); schemathesis replaces Hypothesis's
example printer with one that prints nothing, hence the message.
"""

from __future__ import annotations

import logging
import math
import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeAlias

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.core.transport import Response
from schemathesis.generation import GenerationMode
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.graphql.schemas import GraphQLSchema

from server.app import create_app
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import SqliteTemplates
from tests.fuzz.literals import SDL, with_seeded_values
from tests.fuzz.seeding import NOW, Seeded, seed_template

GeneratedCase: TypeAlias = Case[Any]  # of any API operation of the schema

# An Upload travels as a part of a multipart request, never as a literal of a JSON
# document: a literal in its place must be refused as invalid, never crash the server.
schemathesis.graphql.scalar(
    "Upload", st.builds(graphql.StringValueNode, value=st.text(max_size=20))
)

FUZZ_EXAMPLES_DEFAULT = 550
TOTAL_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", FUZZ_EXAMPLES_DEFAULT))


def _labels(root: graphql.GraphQLObjectType | None) -> list[str]:
    return [f"{root.name}.{name}" for name in root.fields] if root is not None else []


OPERATIONS = _labels(SDL.query_type) + _labels(SDL.mutation_type)
EXAMPLES_PER_OPERATION = math.ceil(TOTAL_EXAMPLES / len(OPERATIONS))

INTERNAL = "INTERNAL_SERVER_ERROR"
ERROR_LOGGER = "credentials.errors"


# --- the tests -------------------------------------------------------------------------


class UnexpectedServerError(AssertionError):
    """A generated operation made the server fail: a product bug."""


@dataclass
class Target:
    """The schema as schemathesis loaded it from the app, what to send with every
    operation, and what was seeded."""

    schema: GraphQLSchema
    headers: dict[str, str] = field(repr=False)  # the token stays out of reports
    seeded: Seeded = field(repr=False)


@pytest.fixture(scope="session")
async def seeded(sqlite_templates: SqliteTemplates) -> Seeded:
    """Seeded once per test process (each xdist worker); each test copies the file."""
    return await seed_template(sqlite_templates)


@pytest.fixture
def target(seeded: Seeded, tmp_path: Path) -> Iterator[Target]:
    """The app on a copy of the seeded database, and its schema as schemathesis loads it:
    by introspection, with the admin's token."""
    settings = replace(
        Settings(), database_url=seeded.template.copy_to(tmp_path), load_demo_data=False
    )
    app = create_app(settings, clock=TestClock(NOW, step=timedelta(seconds=1)))
    headers = {"Authorization": f"Bearer {seeded.token}"}
    schema = schemathesis.graphql.from_asgi("/graphql", app, headers=headers)
    schema.hook("flatmap_body")(with_seeded_values(seeded))
    try:
        yield Target(schema, headers, seeded)
    finally:
        # The in-process transport ran the app's lifespan: end it (closes the database).
        shutdown_lifespans()


def _errors_of(response: Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _code(error: dict[str, Any]) -> object:
    extensions = error.get("extensions")
    return extensions.get("code") if isinstance(extensions, dict) else None


def _logged(caplog: pytest.LogCaptureFixture) -> list[BaseException]:
    return [
        record.exc_info[1]
        for record in caplog.records
        if record.name == ERROR_LOGGER and record.exc_info and record.exc_info[1] is not None
    ]


def _problem(response: Response) -> str | None:
    """What is wrong with the response, if anything."""
    errors = _errors_of(response)
    internal = sum(1 for e in errors if _code(e) == INTERNAL)
    uncoded = sum(1 for e in errors if "path" in e and _code(e) is None)
    if response.status_code < 500 and not internal and not uncoded:
        return None
    return (
        f"HTTP {response.status_code}; {internal} INTERNAL_SERVER_ERROR errors; "
        f"{uncoded} execution errors without a code"
    )


def _explain(case: GeneratedCase, problem: str, errors: list[BaseException]) -> str:
    tracebacks = "\n".join("".join(traceback.format_exception(error)) for error in errors)
    return (
        f"{case.operation.label}: {problem}\n"
        f"--- the generated operation ---\n{case.body!s}\n"
        f"--- logged by {ERROR_LOGGER} ---\n{tracebacks or '(nothing)'}"
    )


def _check(case: GeneratedCase, target: Target, caplog: pytest.LogCaptureFixture) -> None:
    """Sends the case; fails unless the server answered it without an unexpected error."""
    caplog.clear()
    try:
        response = case.call(headers=target.headers)
    except Exception as error:  # in process, an exception that escapes the app
        raise UnexpectedServerError(_explain(case, "the app raised", [error])) from error
    logged = _logged(caplog)
    problem = _problem(response)
    if problem is None and not logged:
        return
    raise UnexpectedServerError(_explain(case, problem or "an error was logged", logged))


@pytest.mark.parametrize("label", OPERATIONS)
def test_generated_operations_never_fail_unexpectedly(
    label: str, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    # given the operation's generated documents, with seeded values in most literals
    # (and no constants harvested from the app's source: they would tie the run to it)
    operation = target.schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is in schema.graphql but not served"
    positive = operation.as_strategy(GenerationMode.POSITIVE, feedback=FeedbackSources())
    negative = operation.as_strategy(GenerationMode.NEGATIVE, feedback=FeedbackSources())
    cases = st.integers(min_value=0, max_value=3).flatmap(
        lambda n: negative if n == 0 else positive
    )
    caplog.set_level(logging.ERROR, logger=ERROR_LOGGER)
    sent: list[GeneratedCase] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=cases)
    def answered_without_unexpected_errors(case: GeneratedCase) -> None:
        sent.append(case)
        # when the server answers it / then without a server error or an unmasked bug
        _check(case, target, caplog)

    answered_without_unexpected_errors()
    assert sent, f"nothing was generated for {label}"
