"""Uploading files on createCredential, addCredentialVersion and
editLatestCredentialVersion through real multipart requests: the type decided by content,
the caps, the CSRF header, the type's and organization's rules, and a store that holds
exactly what committed rows name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.conftest import http_client_on
from tests.credentials.factories import approve, create_type, global_id
from tests.media.conftest import MediaApp
from tests.media.files import (
    EXE,
    HEIC,
    JPEG,
    PDF,
    PNG,
    WEBP,
    File,
    multipart,
    post_files,
    stored_files,
)
from tests.world import World

VERSION = """
  number approvalStatus
  media { id filename contentType size }
  activity { action field oldValue newValue }
"""
PAYLOAD = f"""
  credential {{ id revision latestVersion {{ {VERSION} }} }}
  errors {{ code field message }}
"""
CREATE = f"""
mutation Create($input: CreateCredentialInput!) {{
  createCredential(input: $input) {{ {PAYLOAD} }}
}}
"""
ADD = f"""
mutation Add($input: AddCredentialVersionInput!) {{
  addCredentialVersion(input: $input) {{ {PAYLOAD} }}
}}
"""
EDIT = f"""
mutation Edit($input: EditLatestCredentialVersionInput!) {{
  editLatestCredentialVersion(input: $input) {{ {PAYLOAD} }}
}}
"""
CREDENTIALS = "query Credentials { credentials { totalCount } }"
UPDATE_SETTINGS = """
mutation Settings($input: UpdateCredentialSettingsInput!) {
  updateCredentialSettings(input: $input) { errors { code } }
}
"""
ARCHIVE = "mutation Archive($id: ID!) { archiveCredential(id: $id) { errors { code } } }"
DELETE = """
mutation Delete($id: ID!) { deleteCredential(id: $id, confirm: true) { deletedId errors { code } } }
"""
DELETE_MANY = """
mutation DeleteMany($ids: [ID!]!) {
  deleteCredentials(ids: $ids, confirm: true) { results { ok } errors { code } }
}
"""


def _input(world: World, type_id: str, holder: str = "employee") -> dict[str, Any]:
    return {
        "input": {
            "typeId": type_id,
            "holderId": global_id("User", world.user_ids[holder]),
            "issueDate": "2026-01-15",
            "expiryDate": "2029-01-15",
        }
    }


def _files(field: str, *files: File) -> dict[str, File]:
    return {f"{field}.{i}": file for i, file in enumerate(files)}


def _payload(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def _create(
    app: MediaApp, world: World, type_id: str, *files: File, holder: str = "employee"
) -> dict[str, Any]:
    token = world.token(holder)
    response = await post_files(
        app.http, CREATE, _input(world, type_id, holder), _files("input.media", *files), token
    )
    return _payload(response)


async def _credential_count(app: MediaApp, world: World) -> int:
    body = await app.graphql.execute(CREDENTIALS, token=world.token("admin"))
    count: int = body["data"]["credentials"]["totalCount"]
    return count


@pytest.fixture
async def type_id(app: MediaApp, world: World) -> str:
    return await create_type(app.graphql, world.token("admin"), mediaRule="REQUIRED")


@pytest.mark.parametrize(
    ("file", "content_type"),
    [
        pytest.param(("licence.jpg", JPEG, "image/jpeg"), "image/jpeg", id="jpeg"),
        pytest.param(("licence.png", PNG, "image/png"), "image/png", id="png"),
        pytest.param(("licence.webp", WEBP, "image/webp"), "image/webp", id="webp"),
        pytest.param(("licence.heic", HEIC, "image/heic"), "image/heic", id="heic"),
        pytest.param(("licence.pdf", PDF, "application/pdf"), "application/pdf", id="pdf"),
        pytest.param(
            ("photo.jpg", PDF, "image/jpeg"), "application/pdf", id="pdf named and sent as jpeg"
        ),
        pytest.param(("scan", PNG, "text/plain"), "image/png", id="png without an extension"),
    ],
)
async def test_a_photo_or_pdf_is_accepted_as_its_content_says(
    app: MediaApp, world: World, type_id: str, file: File, content_type: str
) -> None:
    # given a type that requires media; when the holder submits with one file
    payload = await _create(app, world, type_id, file)
    # then the version carries it, typed by its content, and the store holds it once
    assert payload["errors"] == []
    version = payload["credential"]["latestVersion"]
    assert [(m["filename"], m["contentType"], m["size"]) for m in version["media"]] == [
        (file[0], content_type, len(file[1]))
    ]
    stored = stored_files(app.media_dir)
    assert [p.read_bytes() for p in stored] == [file[1]]
    assert {"action": "FIELD_CHANGED", "field": "media", "oldValue": None, "newValue": file[0]} in (
        version["activity"]
    )


async def test_several_files_keep_their_order_and_identical_ones_are_stored_once(
    app: MediaApp, world: World, type_id: str
) -> None:
    files = [("front.jpg", JPEG, "image/jpeg"), ("back.jpg", JPEG, "image/jpeg")]
    payload = await _create(app, world, type_id, *files, ("scan.pdf", PDF, "application/pdf"))
    assert payload["errors"] == []
    media = payload["credential"]["latestVersion"]["media"]
    assert [m["filename"] for m in media] == ["front.jpg", "back.jpg", "scan.pdf"]
    assert len(stored_files(app.media_dir)) == 2


@pytest.mark.parametrize(
    ("files", "code", "field", "message"),
    [
        pytest.param(
            [("photo.jpg", EXE, "image/jpeg")],
            "MEDIA_TYPE_NOT_ALLOWED",
            "media.0",
            "'photo.jpg' is not a photo or PDF",
            id="wrong magic bytes with an image name",
        ),
        pytest.param(
            [("ok.png", PNG, "image/png"), ("notes.pdf", b"hello, not a pdf", "application/pdf")],
            "MEDIA_TYPE_NOT_ALLOWED",
            "media.1",
            "'notes.pdf' is not a photo or PDF",
            id="the second of two",
        ),
        pytest.param(
            [("big.pdf", PDF + bytes(4_000), "application/pdf")],
            "MEDIA_TOO_LARGE",
            "media.0",
            "'big.pdf' is 0.0 MB: files may be at most 0.0 MB",
            id="oversize",
        ),
        pytest.param(
            [("empty.jpg", b"", "image/jpeg")],
            "MEDIA_EMPTY",
            "media.0",
            "'empty.jpg' is empty",
            id="empty file",
        ),
        pytest.param(
            [(f"page{i}.pdf", PDF, "application/pdf") for i in range(4)],
            "TOO_MANY_MEDIA",
            "media",
            "4 files given: a version holds at most 3",
            id="too many files",
        ),
    ],
)
async def test_a_refused_upload_names_the_file_and_stores_nothing(
    app: MediaApp,
    world: World,
    type_id: str,
    files: list[File],
    code: str,
    field: str,
    message: str,
) -> None:
    # when the holder submits files that break a rule
    payload = await _create(app, world, type_id, *files)
    # then the error names the file and the reason, and nothing was created or stored
    assert payload["credential"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert payload["errors"][0]["message"].startswith(message)
    assert await _credential_count(app, world) == 0
    assert stored_files(app.media_dir) == []


async def test_a_multipart_request_without_the_preflight_header_is_refused(
    app: MediaApp, world: World, type_id: str
) -> None:
    # when a multipart request comes without a header a cross-site form could not send
    response = await post_files(
        app.http,
        CREATE,
        _input(world, type_id),
        _files("input.media", ("licence.pdf", PDF, "application/pdf")),
        world.token("employee"),
        preflight={},
    )
    # then it is refused before anything runs
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_HEADER_REQUIRED"
    assert await _credential_count(app, world) == 0
    assert stored_files(app.media_dir) == []


@pytest.mark.parametrize(
    "header",
    [{"GraphQL-Require-Preflight": "1"}, {"Apollo-Require-Preflight": "true"}],
    ids=["ours", "apollo"],
)
async def test_either_preflight_header_lets_an_upload_through(
    app: MediaApp, world: World, type_id: str, header: dict[str, str]
) -> None:
    response = await post_files(
        app.http,
        CREATE,
        _input(world, type_id),
        _files("input.media", ("licence.pdf", PDF, "application/pdf")),
        world.token("employee"),
        preflight=header,
    )
    assert _payload(response)["errors"] == []


async def test_a_body_over_the_request_cap_is_refused_before_it_is_read(
    app: MediaApp, world: World, type_id: str
) -> None:
    small = replace(app.settings, max_request_bytes=2_000)
    async with http_client_on(small, app.clock) as http:
        response = await post_files(
            http,
            CREATE,
            _input(world, type_id),
            _files("input.media", ("licence.pdf", PDF + bytes(2_000), "application/pdf")),
            world.token("employee"),
        )
    assert response.status_code == 413
    assert await _credential_count(app, world) == 0
    assert stored_files(app.media_dir) == []


async def test_a_chunked_body_is_cut_off_once_it_passes_the_request_cap(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given a multipart body streamed in chunks, with no Content-Length to judge it by
    data, parts = multipart(
        CREATE,
        _input(world, type_id),
        _files("input.media", ("licence.pdf", PDF + bytes(3_000), "application/pdf")),
    )
    built = httpx.Request("POST", "http://testserver/graphql", data=data, files=parts)
    body = built.read()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    headers = {
        "Authorization": f"Bearer {world.token('employee')}",
        "GraphQL-Require-Preflight": "1",
        "Content-Type": built.headers["content-type"],
    }
    small = replace(app.settings, max_request_bytes=2_000)
    # when it is sent to an app with a smaller cap
    async with http_client_on(small, app.clock) as http:
        response = await http.post("/graphql", content=chunks(), headers=headers)
    # then it is refused as too large and nothing was created or stored
    assert response.status_code == 413
    assert await _credential_count(app, world) == 0
    assert stored_files(app.media_dir) == []


@pytest.mark.parametrize(
    ("operations", "mapping", "content_type"),
    [
        pytest.param('{"query": "{ me { name } }"}', "[1]", None, id="map not an object"),
        pytest.param('{"query": "{ me { name } }"}', '{"9": ["variables.x"]}', None, id="no file"),
        pytest.param("{{", "{}", None, id="operations not JSON"),
        pytest.param("", "", "multipart/form-data", id="no boundary"),
        pytest.param("", "", "multipart/form-data; boundary=x", id="not multipart data"),
    ],
)
async def test_a_malformed_multipart_request_is_a_client_error(
    app: MediaApp, world: World, operations: str, mapping: str, content_type: str | None
) -> None:
    headers = {"Authorization": f"Bearer {world.token('admin')}", "GraphQL-Require-Preflight": "1"}
    if content_type is None:
        response = await app.http.post(
            "/graphql",
            data={"operations": operations, "map": mapping},
            files={"0": ("a.pdf", PDF, "application/pdf")},
            headers=headers,
        )
    else:
        response = await app.http.post(
            "/graphql", content=b"garbage", headers={**headers, "Content-Type": content_type}
        )
    assert response.status_code == 400
    assert stored_files(app.media_dir) == []


async def test_an_upload_variable_sent_as_json_text_is_refused(
    app: MediaApp, world: World, type_id: str
) -> None:
    variables = _input(world, type_id)
    variables["input"]["media"] = ["JVBERi0xLjcK"]
    body = await app.graphql.execute(CREATE, variables, token=world.token("employee"))
    errors = body["data"]["createCredential"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "media.0")]


async def test_a_refused_mutation_leaves_no_file_behind(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given files that pass every check, sent with dates the type refuses
    variables = _input(world, type_id)
    variables["input"]["expiryDate"] = "2020-01-01"  # before the issue date
    response = await post_files(
        app.http,
        CREATE,
        variables,
        _files("input.media", ("a.pdf", PDF, "application/pdf"), ("b.png", PNG, "image/png")),
        world.token("employee"),
    )
    # when the transaction is rolled back; then the files written for it are gone too
    assert [e["code"] for e in _payload(response)["errors"]] == ["EXPIRY_BEFORE_ISSUE"]
    assert stored_files(app.media_dir) == []


async def test_a_refused_mutation_keeps_identical_content_that_a_committed_version_holds(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given a credential holding a PDF
    first = await _create(app, world, type_id, ("a.pdf", PDF, "application/pdf"))
    assert first["errors"] == []
    # when a refused submission (a second live credential of the type) sends the same PDF
    again = await _create(app, world, type_id, ("a.pdf", PDF, "application/pdf"))
    # then the stored file stays: the first credential still names it
    assert [e["code"] for e in again["errors"]] == ["DUPLICATE_CREDENTIAL"]
    assert [p.read_bytes() for p in stored_files(app.media_dir)] == [PDF]


# The type's rule and the organization's setting -----------------------------------------


@pytest.mark.parametrize(
    ("rule", "media_optional", "files", "errors"),
    [
        pytest.param("REQUIRED", False, [], [("REQUIRED", "media")], id="required"),
        pytest.param("REQUIRED", True, [], [], id="required, organization made it optional"),
        pytest.param("OPTIONAL", False, [], [], id="optional"),
        pytest.param("NOT_USED", False, [], [], id="not used, none sent"),
        pytest.param(
            "NOT_USED",
            True,
            [("a.pdf", PDF, "application/pdf")],
            [("NOT_USED", "media")],
            id="not used, one sent",
        ),
    ],
)
async def test_media_is_required_unless_the_type_or_the_organization_says_otherwise(
    app: MediaApp,
    world: World,
    rule: str,
    media_optional: bool,
    files: list[File],
    errors: list[tuple[str, str]],
) -> None:
    # given a type with the rule and the organization's setting
    admin = world.token("admin")
    type_id = await create_type(app.graphql, admin, mediaRule=rule)
    body = await app.graphql.execute(
        UPDATE_SETTINGS, {"input": {"mediaOptional": media_optional}}, token=admin
    )
    assert body["data"]["updateCredentialSettings"]["errors"] == []
    # when the holder submits
    payload = await _create(app, world, type_id, *files)
    # then it is accepted or refused as the rules say, and a refusal stores nothing
    assert [(e["code"], e["field"]) for e in payload["errors"]] == errors
    assert await _credential_count(app, world) == (0 if errors else 1)
    if errors:
        assert stored_files(app.media_dir) == []


# Renewals and edits -------------------------------------------------------------------


async def test_a_renewal_carries_its_own_files(app: MediaApp, world: World, type_id: str) -> None:
    # given a credential with a scan
    created = (await _create(app, world, type_id, ("2026.pdf", PDF, "application/pdf")))[
        "credential"
    ]
    token = world.token("employee")
    renewal = {"issueDate": "2029-01-10", "expiryDate": "2032-01-10"}
    variables = {"input": {"credentialId": created["id"], **renewal}}
    # when it is renewed without files, then with one
    without = _payload(await post_files(app.http, ADD, variables, {}, token))
    renewed = _payload(
        await post_files(
            app.http, ADD, variables, _files("input.media", ("2029.jpg", JPEG, "image/jpeg")), token
        )
    )
    # then the type's rule holds for the new version, which starts with its own files
    assert [(e["code"], e["field"]) for e in without["errors"]] == [("REQUIRED", "media")]
    assert renewed["errors"] == []
    latest = renewed["credential"]["latestVersion"]
    assert (latest["number"], [m["filename"] for m in latest["media"]]) == (2, ["2029.jpg"])


async def _edit(
    app: MediaApp, world: World, credential: dict[str, Any], *files: File, **fields: Any
) -> dict[str, Any]:
    variables = {
        "input": {
            "credentialId": credential["id"],
            "expectedRevision": credential["revision"],
            **fields,
        }
    }
    response = await post_files(
        app.http, EDIT, variables, _files("input.addMedia", *files), world.token("employee")
    )
    return _payload(response)


async def test_an_edit_adds_and_removes_files_and_the_activity_says_so(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given a credential with a front and a back photo
    created = await _create(
        app, world, type_id, ("front.jpg", JPEG, "image/jpeg"), ("back.png", PNG, "image/png")
    )
    credential = created["credential"]
    front, back = credential["latestVersion"]["media"]
    # when the holder replaces the back photo with a scan
    edited = await _edit(
        app, world, credential, ("scan.pdf", PDF, "application/pdf"), removeMediaIds=[back["id"]]
    )
    # then the version holds the front and the scan, the activity names both changes, and
    # the store no longer holds the removed photo
    assert edited["errors"] == []
    version = edited["credential"]["latestVersion"]
    assert [m["filename"] for m in version["media"]] == ["front.jpg", "scan.pdf"]
    media_activity = [
        (a["oldValue"], a["newValue"]) for a in version["activity"] if a["field"] == "media"
    ]
    assert media_activity == [
        (None, "front.jpg"),
        (None, "back.png"),
        ("back.png", None),
        (None, "scan.pdf"),
    ]
    assert sorted(p.read_bytes() for p in stored_files(app.media_dir)) == sorted([JPEG, PDF])
    assert front in version["media"]


async def test_an_edit_may_not_remove_the_last_required_file(
    app: MediaApp, world: World, type_id: str
) -> None:
    created = (await _create(app, world, type_id, ("a.pdf", PDF, "application/pdf")))["credential"]
    only = created["latestVersion"]["media"][0]
    edited = await _edit(app, world, created, removeMediaIds=[only["id"]])
    assert [(e["code"], e["field"]) for e in edited["errors"]] == [("REQUIRED", "addMedia")]
    assert [p.read_bytes() for p in stored_files(app.media_dir)] == [PDF]


@pytest.mark.parametrize(
    ("remove", "field"),
    [
        pytest.param("not-an-id", "removeMediaIds", id="undecodable"),
        pytest.param(global_id("CredentialMedia", 999), "removeMediaIds", id="unknown"),
        pytest.param(global_id("Credential", 1), "removeMediaIds", id="another type's id"),
    ],
)
async def test_removing_a_file_the_version_does_not_hold_is_not_found(
    app: MediaApp, world: World, type_id: str, remove: str, field: str
) -> None:
    created = (await _create(app, world, type_id, ("a.pdf", PDF, "application/pdf")))["credential"]
    edited = await _edit(app, world, created, removeMediaIds=[remove])
    assert [(e["code"], e["field"]) for e in edited["errors"]] == [("NOT_FOUND", field)]


async def test_adding_past_the_cap_counts_the_files_already_there(
    app: MediaApp, world: World, type_id: str
) -> None:
    created = (
        await _create(
            app, world, type_id, ("a.pdf", PDF, "application/pdf"), ("b.png", PNG, "image/png")
        )
    )["credential"]
    edited = await _edit(app, world, created, ("c.jpg", JPEG, "image/jpeg"), ("d.webp", WEBP, "x"))
    assert [(e["code"], e["field"]) for e in edited["errors"]] == [("TOO_MANY_MEDIA", "addMedia")]
    assert sorted(p.read_bytes() for p in stored_files(app.media_dir)) == sorted([PDF, PNG])


async def test_a_new_file_on_an_approved_version_sends_it_back_for_review(
    app: MediaApp, world: World, type_id: str
) -> None:
    created = (await _create(app, world, type_id, ("a.pdf", PDF, "application/pdf")))["credential"]
    approved = await approve(app.graphql, world.token("credentials_manager"), created["id"])
    assert approved["errors"] == []
    edited = await _edit(app, world, approved["credential"], ("b.png", PNG, "image/png"))
    assert edited["errors"] == []
    assert edited["credential"]["latestVersion"]["approvalStatus"] == "PENDING"


# Deleting ------------------------------------------------------------------------------


async def _archive_and_delete(app: MediaApp, world: World, credential_id: str) -> None:
    admin = world.token("admin")
    body = await app.graphql.execute(ARCHIVE, {"id": credential_id}, token=admin)
    assert body["data"]["archiveCredential"]["errors"] == []
    body = await app.graphql.execute(DELETE, {"id": credential_id}, token=admin)
    assert body["data"]["deleteCredential"]["errors"] == []


async def test_deleting_a_credential_removes_its_files_but_not_content_others_hold(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given two holders' credentials sharing one scan, and one with a photo of its own
    shared = ("scan.pdf", PDF, "application/pdf")
    mine = (await _create(app, world, type_id, shared, ("me.jpg", JPEG, "image/jpeg")))[
        "credential"
    ]
    theirs = (await _create(app, world, type_id, shared, holder="acme_worker"))["credential"]
    # when the first is deleted
    await _archive_and_delete(app, world, mine["id"])
    # then its own photo is gone and the shared scan stays
    assert [p.read_bytes() for p in stored_files(app.media_dir)] == [PDF]
    # and when the second goes too, nothing is left
    await _archive_and_delete(app, world, theirs["id"])
    assert stored_files(app.media_dir) == []


async def test_deleting_credentials_in_bulk_removes_their_files(
    app: MediaApp, world: World, type_id: str
) -> None:
    admin = world.token("admin")
    ids = []
    for holder, file in (("employee", ("a.pdf", PDF, "x")), ("acme_worker", ("b.png", PNG, "x"))):
        credential_id = (await _create(app, world, type_id, file, holder=holder))["credential"][
            "id"
        ]
        await app.graphql.execute(ARCHIVE, {"id": credential_id}, token=admin)
        ids.append(credential_id)
    body = await app.graphql.execute(DELETE_MANY, {"ids": ids}, token=admin)
    assert [r["ok"] for r in body["data"]["deleteCredentials"]["results"]] == [True, True]
    assert stored_files(app.media_dir) == []
