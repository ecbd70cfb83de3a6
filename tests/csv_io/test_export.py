"""The template and the export as a client downloads them, and the round trip: a file
exported imports back unchanged."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import GraphQLClient
from tests.credentials.factories import create_type
from tests.csv_io.helpers import HEADER, import_csv
from tests.world import World

TEMPLATE = "{ credentialCsvTemplate }"
EXPORT_HEADER = [
    "Holder email",
    "Credential type",
    "Issue date",
    "Expiry date",
    "Credential number",
    "External id",
    "Holder name",
    "Approval status",
    "Expiry status",
    "Archived",
]
ROWS = HEADER.replace("\n", ",External id\n") + (
    "acme_worker@example.com,First Aid,2026-01-10,2029-01-10,=HYPERLINK(1),@ext\n"
    "bolt_worker@example.com,First Aid,2026-02-01,2029-02-01,+61 400,\n"
)


async def _export(graphql: GraphQLClient, token: str, **params: str) -> list[list[str]]:
    response = await graphql.http.get(
        "/credentials/export.csv", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


async def test_the_template_has_the_header_and_an_example(
    graphql: GraphQLClient, world: World
) -> None:
    body = await graphql.execute(TEMPLATE, token=world.token("employee"))
    rows = list(csv.reader(io.StringIO(body["data"]["credentialCsvTemplate"])))
    assert rows[0] == EXPORT_HEADER[:6]
    assert len(rows) == 2
    response = await graphql.http.get("/credentials/template.csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert list(csv.reader(io.StringIO(response.text))) == rows


async def test_export_neutralizes_formulas_and_round_trips(
    graphql: GraphQLClient, world: World
) -> None:
    # Given two imported credentials whose cells start like formulas
    await create_type(graphql, world.token("admin"), name="First Aid")
    await import_csv(graphql, world.token("admin"), ROWS)
    # When the admin exports them
    rows = await _export(graphql, world.token("admin"))
    # Then each cell a spreadsheet would run as a formula starts with a quote
    assert rows[0] == EXPORT_HEADER
    by_email = {row[0]: row for row in rows[1:]}
    assert by_email["acme_worker@example.com"][4:6] == ["'=HYPERLINK(1)", "'@ext"]
    assert by_email["bolt_worker@example.com"][2:5] == ["2026-02-01", "2029-02-01", "'+61 400"]
    assert by_email["bolt_worker@example.com"][7:] == ["PENDING", "VALID", "no"]
    # And importing the export back changes nothing
    exported = "\r\n".join(",".join(_quote(c) for c in row) for row in rows) + "\r\n"
    job = (await import_csv(graphql, world.token("admin"), exported))["job"]
    assert (job["status"], job["unchangedCount"], job["createdCount"]) == ("SUCCEEDED", 2, 0)
    assert await _export(graphql, world.token("admin")) == rows


def _quote(cell: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([cell])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("role", "emails"),
    [
        ("admin", {"acme_worker@example.com", "bolt_worker@example.com"}),
        ("acme_worker", {"acme_worker@example.com"}),
        ("employee", set()),
    ],
)
async def test_export_holds_what_the_viewer_may_see(
    graphql: GraphQLClient, world: World, role: str, emails: set[str]
) -> None:
    await create_type(graphql, world.token("admin"), name="First Aid")
    await import_csv(graphql, world.token("admin"), ROWS)
    rows = await _export(graphql, world.token(role))
    assert {row[0] for row in rows[1:]} == emails


async def test_export_takes_the_credentials_filter(graphql: GraphQLClient, world: World) -> None:
    first_aid = await create_type(graphql, world.token("admin"), name="First Aid")
    await create_type(graphql, world.token("admin"), name="Forklift")
    await import_csv(graphql, world.token("admin"), ROWS)
    other = json.dumps({"typeIds": [first_aid]})
    assert len(await _export(graphql, world.token("admin"), filter=other)) == 3
    response = await graphql.http.get(
        "/credentials/export.csv",
        params={"filter": json.dumps({"archived": "SOMETIMES"})},
        headers={"Authorization": f"Bearer {world.token('admin')}"},
    )
    assert response.status_code == 400


async def test_export_needs_a_token(graphql: GraphQLClient, world: World) -> None:
    response = await graphql.http.get("/credentials/export.csv")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "search",
    [
        pytest.param("a\x00b", id="a-nul"),
        pytest.param("x" * 10_000, id="10000-characters"),
    ],
)
async def test_export_holds_its_search_to_the_lists_rules(
    graphql: GraphQLClient, world: World, search: str
) -> None:
    # Given a filter the credentials list refuses
    params = {"filter": json.dumps({"search": search})}
    # When the export is asked for with it
    response = await graphql.http.get(
        "/credentials/export.csv",
        params=params,
        headers={"Authorization": f"Bearer {world.token('admin')}"},
    )
    # Then it is refused the same way, before anything is read
    assert response.status_code == 400, response.text[:200]
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_rows_expiry_status_is_that_of_its_own_dates(
    graphql: GraphQLClient, world: World
) -> None:
    # Given a credential whose approved version expired, renewed by a version awaiting approval
    await create_type(graphql, world.token("admin"), name="First Aid")
    expired = HEADER + "acme_worker@example.com,First Aid,2020-01-10,2021-01-10,FA-1\n"
    renewal = HEADER + "acme_worker@example.com,First Aid,2026-01-10,2099-01-10,FA-2\n"
    first = (await import_csv(graphql, world.token("admin"), expired, approve_all=True))["job"]
    second = (await import_csv(graphql, world.token("admin"), renewal))["job"]
    assert (first["createdCount"], second["versionedCount"]) == (1, 1)

    # When the admin exports it
    [header, row] = await _export(graphql, world.token("admin"))

    # Then the row is the latest version's throughout: its dates, its approval and the expiry
    # status of those dates, not the expired version's status beside the renewal's dates
    by_title = dict(zip(header, row, strict=True))
    assert (by_title["Issue date"], by_title["Expiry date"]) == ("2026-01-10", "2099-01-10")
    assert by_title["Approval status"] == "PENDING"
    assert by_title["Expiry status"] == "VALID"
