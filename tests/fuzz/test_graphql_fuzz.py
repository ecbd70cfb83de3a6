"""Schemathesis against the GraphQL endpoint: no generated operation may crash the server
(an HTTP 5xx, or an exception escaping the app) or come back with an error whose
`extensions.code` is INTERNAL_SERVER_ERROR (what MaskUnexpectedErrors turns an unexpected
exception into: see schema/errors.py).

Each query and mutation of schema.graphql is a test of its own, run in process against
`create_app` on a fresh copy of a seeded SQLite database (the role world plus credential
types and credentials of both organizations), as the world's admin (every permission).
Schemathesis generates the operations, valid ones and invalid ones; a hook puts ids of
the seeded objects (and of the other organization's, and malformed ones) into most `ID`
arguments and small numbers into `expectedRevision`, so that mutations reach the
lifecycle rules instead of stopping at "not found". The app's clock stands still on a
fixed day. Generation is derandomized: every run sends the same operations.

    .venv/bin/pytest tests/fuzz                     # CI: FUZZ_EXAMPLES_DEFAULT operations
    FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/fuzz  # nightly: 5000, spread over operations

FUZZ_EXAMPLES is the total number of generated operations, divided evenly among the
operations of the schema. SQLite only: the test builds its own database from the SQLite
templates and never asks for the `backend` fixture.

A failure names the operation, the generated document and the server's traceback (logged
by "credentials.errors", captured with caplog). Product bugs already reported are listed
in KNOWN_BUGS: such an operation is a strict xfail that fails only with that bug's exact
signature (every other example is still checked); it turns into a failure as soon as the
bug stops showing, so that the entry is removed with the fix.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.core.transport import Response
from schemathesis.generation import GenerationMode
from schemathesis.hooks import HookContext
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.graphql.schemas import GraphQLSchema

from server.app import create_app
from server.database import Database
from server.settings import Settings
from tests.backends import SqliteTemplate
from tests.clock import TestClock
from tests.conftest import GraphQLClient, SqliteTemplates, client_on
from tests.credentials.factories import approve, create_credential, create_type, global_id
from tests.world import World

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
FUZZ_EXAMPLES_DEFAULT = 520
TOTAL_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", FUZZ_EXAMPLES_DEFAULT))

_SDL = graphql.build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))


def _labels(root: graphql.GraphQLObjectType | None) -> list[str]:
    return [f"{root.name}.{name}" for name in root.fields] if root is not None else []


OPERATIONS = _labels(_SDL.query_type) + _labels(_SDL.mutation_type)
EXAMPLES_PER_OPERATION = math.ceil(TOTAL_EXAMPLES / len(OPERATIONS))

# The app's "now": a fixed day, so that expiry statuses and "today" never depend on the run.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INTERNAL = "INTERNAL_SERVER_ERROR"
ERROR_LOGGER = "credentials.errors"


@dataclass(frozen=True)
class KnownBug:
    """A product bug already reported: the exception the server logs for it."""

    exception: str  # the exception's class name
    message: re.Pattern[str]  # matched against the exception's message
    raised_in: str  # a function on the traceback, where it goes wrong
    report: str  # what is wrong, in one sentence


# Operation label -> the bug it shows. Keep every entry as narrow as the bug.
KNOWN_BUGS: dict[str, KnownBug] = {}


class UnexpectedServerError(AssertionError):
    """A generated operation made the server fail: a product bug."""


class KnownProductBugSeen(Exception):
    """The known bug of an operation showed (and nothing else went wrong)."""


# --- seeding ---------------------------------------------------------------------------


ARCHIVE = """
mutation Archive($id: ID!) {
  archiveCredential(id: $id) { errors { code message } }
}
"""

REJECT = """
mutation Reject($id: ID!, $reason: String!) {
  rejectCredential(id: $id, reason: $reason) { errors { code message } }
}
"""

ADD_VERSION = """
mutation AddVersion($input: AddCredentialVersionInput!) {
  addCredentialVersion(input: $input) { credential { latestVersion { id } } errors { code } }
}
"""


@dataclass(frozen=True)
class Seeded:
    """A SQLite template holding the world and the seeded credentials, the admin's token and
    the global ids worth sending: of every kind, both organizations', and malformed ones."""

    template: SqliteTemplate
    token: str
    ids: tuple[str, ...]


def _encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Ids that name nothing: malformed, of the wrong shape, out of range, of unknown types.
MALFORMED_IDS = (
    "",
    "Credential:1",
    _encoded("Credential:"),
    _encoded("Credential:0"),
    _encoded("Credential:-1"),
    _encoded("Credential:01"),
    _encoded("Credential:99999999999999999999"),
    _encoded("Nope:1"),
    _encoded(":"),
    "=====",
)


async def _seed_organization(
    graphql: GraphQLClient, world: World, admin: str, holders: list[str]
) -> list[str]:
    """Credential types and credentials of every state in the admin's organization; their
    global ids (credentials, versions and types)."""
    token = world.token(admin)
    ids: list[str] = []
    types = [
        await create_type(graphql, token, name=f"{admin} first aid"),
        await create_type(
            graphql,
            token,
            name=f"{admin} driver licence",
            defaultValidityMonths=36,
            expiryDateRule="OPTIONAL",
        ),
        await create_type(graphql, token, name=f"{admin} police check", neverExpires=True),
        await create_type(
            graphql,
            token,
            name=f"{admin} white card",
            issueDateRule="OPTIONAL",
            expiryDateRule="OPTIONAL",
        ),
    ]
    ids += types
    ids.append(await create_type(graphql, token, name=f"{admin} unused"))
    for index, holder in enumerate(holders):
        for number, type_id in enumerate(types):
            fields: dict[str, Any] = {}
            if number == 2:  # never expires: no expiry date
                fields["expiryDate"] = None
            credential = await create_credential(
                graphql, token, type_id, world.user_ids[holder], **fields
            )
            ids += [credential["id"], credential["latestVersion"]["id"]]
            state = (index + number) % 4
            if state == 1 and holder != admin:
                assert (await approve(graphql, token, credential["id"]))["errors"] == []
            elif state == 2 and holder != admin:
                body = await graphql.execute(
                    REJECT, {"id": credential["id"], "reason": "Unreadable scan."}, token
                )
                assert body["data"]["rejectCredential"]["errors"] == [], body
            elif state == 3:
                body = await graphql.execute(ARCHIVE, {"id": credential["id"]}, token)
                assert body["data"]["archiveCredential"]["errors"] == [], body
    # A renewal waiting for approval next to an approved version.
    renewed = await create_credential(
        graphql,
        token,
        await create_type(
            graphql, token, name=f"{admin} renewed", defaultValidityMonths=36
        ),
        world.user_ids[holders[0]],
        issueDate="2023-01-15",
        expiryDate="2026-01-15",
    )
    assert (await approve(graphql, token, renewed["id"]))["errors"] == []
    body = await graphql.execute(
        ADD_VERSION,
        {"input": {"credentialId": renewed["id"], "issueDate": "2026-01-10", "expiryDate": None}},
        token,
    )
    added = body["data"]["addCredentialVersion"]
    assert added["errors"] == [], added
    ids += [renewed["id"], added["credential"]["latestVersion"]["id"]]
    return ids


def _world_ids(world: World) -> list[str]:
    return [
        global_id("Organization", world.north_id),
        global_id("Organization", world.south_id),
        *(global_id("Company", key) for key in (world.acme_id, world.bolt_id)),
        global_id("Company", world.south_company_id),
        *(global_id("User", key) for key in world.user_ids.values()),
    ]


@pytest.fixture(scope="session")
async def seeded(sqlite_templates: SqliteTemplates) -> Seeded:
    """Seeded once per test process; each test copies the file."""
    world = sqlite_templates.world
    clock = TestClock(NOW)

    async def seed(database: Database) -> list[str]:
        settings = replace(
            Settings(), database_url=database.engine.url.render_as_string(), load_demo_data=False
        )
        async with client_on(settings, clock) as graphql:
            north = await _seed_organization(
                graphql, world, "admin", ["employee", "acme_worker", "bolt_worker", "admin"]
            )
            south = await _seed_organization(graphql, world, "south_admin", ["south_worker"])
        return north + south

    template, ids = await sqlite_templates.with_world.seeded("fuzz", seed)
    return Seeded(template, world.token("admin"), (*ids, *_world_ids(world), *MALFORMED_IDS))


# --- generation ------------------------------------------------------------------------

# What a substitutable literal is: an `ID`, or the revision of an edit.
ID, REVISION = "id", "revision"


class _Substitute(graphql.Visitor):
    """Finds the literals of `ID` arguments and input fields and of `expectedRevision`, in
    visiting order (`kinds`); with `values`, replaces each by its value (None keeps it)."""

    def __init__(self, values: tuple[str | int | None, ...] = ()) -> None:
        super().__init__()
        self.type_info = graphql.TypeInfo(_SDL)
        self.values = values
        self.kinds: list[str] = []

    def run(self, document: graphql.DocumentNode) -> Any:
        return graphql.visit(document, graphql.TypeInfoVisitor(self.type_info, self))

    def _next(self, kind: str) -> str | int | None:
        index = len(self.kinds)
        self.kinds.append(kind)
        return self.values[index] if index < len(self.values) else None

    def enter_object_field(self, node: graphql.ObjectFieldNode, *_: object) -> Any:
        if node.name.value != "expectedRevision" or not isinstance(
            node.value, graphql.IntValueNode
        ):
            return None
        value = self._next(REVISION)
        if value is None:
            return None
        return graphql.ObjectFieldNode(name=node.name, value=graphql.IntValueNode(value=str(value)))

    def enter_string_value(self, node: graphql.StringValueNode, *_: object) -> Any:
        return self._replace_id()

    def enter_int_value(self, node: graphql.IntValueNode, *_: object) -> Any:
        return self._replace_id()

    def _replace_id(self) -> Any:
        input_type = graphql.get_named_type(self.type_info.get_input_type())
        if input_type is None or input_type.name != "ID":
            return None
        value = self._next(ID)
        return None if value is None else graphql.StringValueNode(value=str(value))


def _mostly(values: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """A value three times in four; otherwise None (keep the generated literal)."""
    return st.tuples(st.integers(min_value=0, max_value=3), values).map(
        lambda drawn: drawn[1] if drawn[0] else None
    )


def _with_seeded_ids(ids: tuple[str, ...]) -> Any:
    """A `flatmap_body` hook: most `ID` literals become seeded ids and most revisions small
    numbers that may match; the rest keep what was generated."""
    choices = {
        ID: _mostly(st.sampled_from(ids)),
        REVISION: _mostly(st.integers(min_value=1, max_value=6)),
    }

    def flatmap_body(context: HookContext, body: graphql.DocumentNode) -> Any:
        finder = _Substitute()
        finder.run(body)
        draws = st.tuples(*(choices[kind] for kind in finder.kinds))
        return draws.map(lambda values: _Substitute(values).run(body))

    return flatmap_body


# --- the test --------------------------------------------------------------------------


@dataclass
class Target:
    schema: GraphQLSchema
    headers: dict[str, str]


@pytest.fixture
def target(seeded: Seeded, tmp_path: Path) -> Iterator[Target]:
    """The app on a copy of the seeded database, and its schema as schemathesis loads it:
    by introspection, with the admin's token."""
    settings = replace(
        Settings(), database_url=seeded.template.copy_to(tmp_path), load_demo_data=False
    )
    app = create_app(settings, clock=TestClock(NOW))
    headers = {"Authorization": f"Bearer {seeded.token}"}
    schema = schemathesis.graphql.from_asgi("/graphql", app, headers=headers)
    schema.hook("flatmap_body")(_with_seeded_ids(seeded.ids))
    try:
        yield Target(schema, headers)
    finally:
        # The in-process transport started the app's lifespan: end it (disposes the database).
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


def _logged_exceptions(caplog: pytest.LogCaptureFixture) -> list[BaseException]:
    return [
        record.exc_info[1]
        for record in caplog.records
        if record.name == ERROR_LOGGER and record.exc_info and record.exc_info[1] is not None
    ]


def _matches(bug: KnownBug, error: BaseException) -> bool:
    functions = {frame.name for frame in traceback.extract_tb(error.__traceback__)}
    return (
        type(error).__name__ == bug.exception
        and bug.message.search(str(error)) is not None
        and bug.raised_in in functions
    )


def _explain(case: Case, problem: str, errors: list[BaseException]) -> str:
    tracebacks = "\n".join("".join(traceback.format_exception(error)) for error in errors)
    return (
        f"{case.operation.label}: {problem}\n"
        f"--- the generated operation ---\n{case.body}\n"
        f"--- logged by {ERROR_LOGGER} ---\n{tracebacks or '(nothing)'}"
    )


def _param(label: str) -> Any:
    bug = KNOWN_BUGS.get(label)
    if bug is None:
        return label
    mark = pytest.mark.xfail(raises=KnownProductBugSeen, strict=True, reason=bug.report)
    return pytest.param(label, marks=mark)


# Schemathesis swaps Hypothesis' example printer for one that prints nothing, so failures
# are described by the assertion message (_explain) instead.
@pytest.mark.parametrize("label", [_param(label) for label in OPERATIONS])
def test_generated_operations_never_fail_unexpectedly(
    label: str, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    # given the operation's generated documents, valid and invalid, with seeded ids
    operation = target.schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is in schema.graphql but not in the served schema"
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    known = KNOWN_BUGS.get(label)
    seen_known: list[str] = []
    sent: list[str] = []
    caplog.set_level(logging.ERROR, logger=ERROR_LOGGER)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=cases)
    def send(case: Case) -> None:
        caplog.clear()
        # when the server answers it
        try:
            response = case.call(headers=target.headers)
        except Exception as error:
            raise UnexpectedServerError(_explain(case, "the app raised", [error])) from error
        sent.append(str(case.body))
        import json as _j
        with open("/tmp/fuzzlog.jsonl", "a") as _f:
            _f.write(_j.dumps({"label": label, "mode": str(case.meta.generation.mode) if case.meta else None, "body": str(case.body), "status": response.status_code, "resp": response.text}) + "\n")
        logged = _logged_exceptions(caplog)
        internal = [e for e in _errors_of(response) if _code(e) == INTERNAL]
        # then it is neither a server error nor an unmasked bug
        if response.status_code < 500 and not internal and not logged:
            return
        if known is not None and logged and all(_matches(known, e) for e in logged):
            seen_known.append(str(case.body))
            return
        problem = f"HTTP {response.status_code}, {len(internal)} INTERNAL_SERVER_ERROR errors"
        raise UnexpectedServerError(_explain(case, problem, logged))

    send()
    assert sent, f"nothing was generated for {label}"
    if known is not None and seen_known:
        raise KnownProductBugSeen(f"{known.report}\nfirst seen with:\n{seen_known[0]}")
