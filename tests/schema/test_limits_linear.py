"""The limits cost time linear in the document's size, whatever its fragments multiply:
each selection is looked at once (counted), and checking a document twice or four times
the size takes about twice or four times as long (timed relative to each other, never
against a wall-clock figure). A document whose written-out size is beyond the limits is
refused before graphql-core's validation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, Visitor, parse, visit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema import build_schema
from schema.limits import DEFAULT_LIMITS
from schema.measure import measure_document, repeated_fields

SCHEMA = build_schema()
LIMIT = DEFAULT_LIMITS.max_tokens  # written-out fields and repeated pairs


def _probe(selection: str, fragments: list[str] = []) -> str:  # noqa: B006 (never mutated)
    """A document whose operation `Run` is trivial to execute and `Probe` is measured and
    validated with it: the time is the checks', not the execution's."""
    return "\n".join(["query Run { __typename }", f"query Probe {{ {selection} }}", *fragments])


def chain(n: int, fan_out: int = 2, leaf: str = "name") -> str:
    """Fragments F1 … Fn on User, each spreading the previous one `fan_out` times: about
    fan_out^n fields written out."""
    fragments = [f"fragment F1 on User {{ {leaf} }}"] + [
        f"fragment F{i} on User {{ {' '.join([f'...F{i - 1}'] * fan_out)} }}"
        for i in range(2, n + 1)
    ]
    return _probe(f"me {{ ...F{n} }}", fragments)


def nested_chain(n: int) -> str:
    """Each fragment spreads the previous one under two fields, nested: 2^n fields
    written out, and as deep as the chain is long."""
    step = "workers(first: 1) {{ edges {{ {} node {{ company {{ ...C{} }} }} }} }}"
    fragments = ["fragment C1 on Company { name }"] + [
        f"fragment C{i} on Company {{ {step.format('', i - 1)} {step.format('cursor', i - 1)} }}"
        for i in range(2, n + 1)
    ]
    return _probe(f"me {{ company {{ ...C{n} }} }}", fragments)


def wide(n: int) -> str:
    """n sibling fields with the same name and a selection: n²/2 pairs to compare."""
    return _probe("me { " + " ".join(["company { name }"] * n) + " }")


def wide_fragments(n: int) -> str:
    """n distinct fragments side by side, each selecting the same field."""
    fragments = [f"fragment A{i} on User {{ company {{ name }} }}" for i in range(n)]
    return _probe("me { " + " ".join(f"...A{i}" for i in range(n)) + " }", fragments)


def deep(n: int) -> str:
    """n levels of nesting."""
    body = "name"
    for _ in range(n):
        body = f"company {{ workers(first: 1) {{ edges {{ node {{ {body} }} }} }} }}"
    return _probe(f"me {{ {body} }}")


class _Selections(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter(self, node: object, *_: object) -> None:
        if isinstance(node, FieldNode | FragmentSpreadNode | InlineFragmentNode):
            self.count += 1


def selections(document: str) -> int:
    counter = _Selections()
    visit(parse(document), counter)
    return counter.count


DOCUMENTS = st.one_of(
    st.builds(chain, st.integers(1, 40), st.integers(1, 4)),
    st.builds(nested_chain, st.integers(1, 25)),
    st.builds(wide, st.integers(1, 300)),
    st.builds(wide_fragments, st.integers(1, 200)),
    st.builds(deep, st.integers(1, 40)),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_measuring_looks_at_each_selection_once(document: str) -> None:
    # when a document is measured
    measure = measure_document(SCHEMA._schema, parse(document), None)
    # then each selection of the document was looked at once, whatever spreads multiply
    assert measure.visits <= selections(document)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_counting_repeated_fields_is_bounded_by_the_limit(document: str) -> None:
    # given a document within the written-out size (else it is refused before this count)
    parsed = parse(document)
    if measure_document(SCHEMA._schema, parsed, None).written_out_fields > LIMIT:
        return
    # when its repeated fields are counted against the limit
    repeated = repeated_fields(parsed, LIMIT)
    # then the walk looked at no more than the document with its fragments written out,
    # itself within the limit
    assert repeated.visits <= 2 * LIMIT + selections(document)


def test_a_chain_of_fragments_is_measured_by_its_size_not_its_expansion() -> None:
    # given the chain of the report: 20 fragments each spreading the previous one twice
    document = parse(chain(20))
    # when measured
    measure = measure_document(SCHEMA._schema, document, None)
    # then the written-out size is known, 2^19 fields under `me`, from 40 selections seen
    [probe] = [e for op, e in measure.operations.items() if op.name and op.name.value == "Probe"]
    assert probe.fields == 1 + 2**19
    assert measure.visits == selections(chain(20))


async def _refused_codes(document: str) -> list[str]:
    result = await SCHEMA.execute(document, operation_name="Run")
    return [str((e.extensions or {}).get("code")) for e in result.errors or []]


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (chain(20), "QUERY_TOO_LARGE"),
        (chain(30, fan_out=3), "QUERY_TOO_LARGE"),
        (nested_chain(14), "QUERY_TOO_LARGE"),
        (wide(200), "QUERY_TOO_LARGE"),
        (wide_fragments(200), "QUERY_TOO_LARGE"),
        (deep(3), "QUERY_TOO_DEEP"),
    ],
    ids=["chain", "chain-fan-out-3", "nested-chain", "wide", "wide-fragments", "deep"],
)
async def test_documents_too_large_written_out_are_refused(document: str, code: str) -> None:
    assert await _refused_codes(document) == [code]


def _seconds(document: str) -> float:
    """The least of a few runs of parsing, measuring and validating (or refusing) it;
    each run names its operation anew, so that no cache answers."""
    best = float("inf")
    for run in range(5):
        name = f"Run{run}x{len(document)}"
        started = time.perf_counter()
        asyncio.run(
            SCHEMA.execute(document.replace("query Run ", f"query {name} "), operation_name=name)
        )
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize(
    ("family", "n"),
    [(chain, 4), (nested_chain, 2), (wide, 50), (wide_fragments, 50), (deep, 2)],
    ids=["chain", "nested-chain", "wide", "wide-fragments", "deep"],
)
def test_checking_four_times_the_document_takes_about_four_times_as_long(
    family: Callable[[int], str], n: int
) -> None:
    # given a document of a family, and one of the same family four times its size
    small, large = family(n), family(4 * n)
    assert 3 * len(small) < len(large) < 5 * len(small)
    # when each is checked, then the larger takes at most a few times as long: a
    # quadratic check would take 16 times as long, an exponential one far more
    ratio = _seconds(large) / _seconds(small)
    assert ratio < 10, f"{family.__name__}: {ratio:.1f} times as long for 4 times the size"
