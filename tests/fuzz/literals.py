"""What the fuzz tests put into generated documents: a schemathesis `flatmap_body` hook
that replaces most `ID` literals by seeded ids (mostly of the kind the argument asks for,
of the admin's organization; sometimes the other organization's or malformed ones), most
`Date` literals by calendar-edge or near-today days, most `after` cursors by real or
crafted ones of that connection, most `first` page sizes by allowed ones and most
`expectedRevision`s by small numbers that may match; the rest keep what was generated."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import graphql
from hypothesis import strategies as st
from schemathesis.hooks import HookContext

from tests.fuzz.seeding import TODAY, Seeded

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
SDL = graphql.build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))

# Days where date arithmetic goes wrong: the ends of the calendar, month ends, leap days,
# today and the edges of the default expiring-soon window.
EDGE_DATES = (
    date.min,
    date(1, 1, 31),
    date(9998, 12, 31),
    date(9999, 1, 31),
    date(9999, 11, 30),
    date(9999, 12, 1),
    date.max,
    date(2024, 2, 29),
    date(2028, 2, 29),
    date(2100, 2, 28),
    TODAY - timedelta(days=1),
    TODAY,
    TODAY + timedelta(days=1),
    TODAY + timedelta(days=30),
    TODAY + timedelta(days=31),
)


def _wanted_kind(field: str, argument: str) -> str:
    """The kind of id an `ID` literal asks for, from the names of its field and argument
    (or input field); "" for any (node, nodes)."""
    if argument in ("typeId", "typeIds") or "CredentialType" in field:
        return "CredentialType"
    if argument in ("holderId", "holderIds"):
        return "User"
    if argument == "companyIds":
        return "Company"
    if argument == "credentialId" or "credential" in field.lower():
        return "Credential"
    return ""


class _Literals(graphql.Visitor):
    """Finds the literals worth replacing, in visiting order: `ID`s (with the kind of id
    they ask for), `Date`s, `first` and `after` of connections and `expectedRevision`.
    With `values`, replaces each by its value (None keeps the generated literal)."""

    def __init__(self, values: tuple[object, ...] = ()) -> None:
        super().__init__()
        self.type_info = graphql.TypeInfo(SDL)
        self.values = values
        self.found: list[str] = []  # id:<kind>, date, first, after:<field> or revision
        self.fields: list[str] = []
        self.names: list[str] = []  # arguments and input fields, innermost last

    def run(self, document: graphql.DocumentNode) -> Any:
        return graphql.visit(document, graphql.TypeInfoVisitor(self.type_info, self))

    def enter_field(self, node: graphql.FieldNode, *_: object) -> None:
        self.fields.append(node.name.value)

    def leave_field(self, *_: object) -> None:
        self.fields.pop()

    def enter_argument(self, node: graphql.ArgumentNode, *_: object) -> None:
        self.names.append(node.name.value)

    def leave_argument(self, *_: object) -> None:
        self.names.pop()

    def enter_object_field(self, node: graphql.ObjectFieldNode, *_: object) -> None:
        self.names.append(node.name.value)

    def leave_object_field(self, *_: object) -> None:
        self.names.pop()

    def enter_string_value(self, node: graphql.StringValueNode, *_: object) -> Any:
        return self._literal()

    def enter_int_value(self, node: graphql.IntValueNode, *_: object) -> Any:
        return self._literal()

    def _literal(self) -> Any:
        named = graphql.get_named_type(self.type_info.get_input_type())
        name = self.names[-1] if self.names else ""
        field = self.fields[-1] if self.fields else ""
        if named is None:
            return None
        if named.name == "ID":
            return self._replace("id:" + _wanted_kind(field, name))
        if named.name == "Date":
            return self._replace("date")
        if named.name == "Int" and name == "first":
            return self._replace("first")
        if named.name == "Int" and name == "expectedRevision":
            return self._replace("revision")
        if named.name == "String" and name == "after":
            return self._replace(f"after:{field}")
        return None

    def _replace(self, what: str) -> Any:
        index = len(self.found)
        self.found.append(what)
        value = self.values[index] if index < len(self.values) else None
        if value is None:
            return None
        if isinstance(value, int):
            return graphql.IntValueNode(value=str(value))
        return graphql.StringValueNode(value=str(value))


def _mostly(values: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """A value three times in four; otherwise None (keep the generated literal)."""
    return st.tuples(st.integers(min_value=0, max_value=3), values).map(
        lambda drawn: drawn[1] if drawn[0] else None
    )


def with_seeded_values(seeded: Seeded) -> Callable[[HookContext, Any], Any]:
    """The `flatmap_body` hook that draws the replacements of a generated document."""
    any_id = st.sampled_from(seeded.all_ids)
    own_id = st.sampled_from([i for ids in seeded.own_ids.values() for i in ids])
    choices: dict[str, st.SearchStrategy[object]] = {
        f"id:{kind}": _mostly(st.one_of(st.sampled_from(ids), st.sampled_from(ids), any_id))
        for kind, ids in seeded.own_ids.items()
    }
    choices["id:"] = _mostly(st.one_of(own_id, any_id))
    near_today = st.dates(TODAY - timedelta(days=1830), TODAY + timedelta(days=1830))
    choices["date"] = _mostly(st.one_of(near_today, st.sampled_from(EDGE_DATES))).map(
        lambda day: day.isoformat() if day is not None else None
    )
    choices["first"] = _mostly(st.integers(min_value=1, max_value=100))
    for field, cursors in seeded.cursors.items():
        choices[f"after:{field}"] = _mostly(st.sampled_from(cursors))
    choices["revision"] = _mostly(st.integers(min_value=1, max_value=6))

    def flatmap_body(context: HookContext, body: graphql.DocumentNode) -> Any:
        finder = _Literals()
        finder.run(body)
        draws = st.tuples(*(choices.get(what, st.none()) for what in finder.found))
        return draws.map(lambda values: _Literals(values).run(body))

    return flatmap_body
