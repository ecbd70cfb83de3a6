"""Uploading files on createCredential, addCredentialVersion and
editLatestCredentialVersion through real multipart requests: the type decided by content,
the caps, the CSRF header, malformed requests, and no file left by a refused one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from tests.conftest import http_client_on
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
from tests.media.submissions import (
    CREATE,
    credential_count,
    files_at,
    payload_of,
    submission,
    submit,
)
from tests.world import World


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
    payload = await submit(app, world, type_id, file)
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
    payload = await submit(app, world, type_id, *files, ("scan.pdf", PDF, "application/pdf"))
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
    payload = await submit(app, world, type_id, *files)
    # then the error names the file and the reason, and nothing was created or stored
    assert payload["credential"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert payload["errors"][0]["message"].startswith(message)
    assert await credential_count(app, world) == 0
    assert stored_files(app.media_dir) == []


async def test_a_multipart_request_without_the_preflight_header_is_refused(
    app: MediaApp, world: World, type_id: str
) -> None:
    # when a multipart request comes without a header a cross-site form could not send
    response = await post_files(
        app.http,
        CREATE,
        submission(world, type_id),
        files_at("input.media", ("licence.pdf", PDF, "application/pdf")),
        world.token("employee"),
        preflight={},
    )
    # then it is refused before anything runs
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_HEADER_REQUIRED"
    assert await credential_count(app, world) == 0
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
        submission(world, type_id),
        files_at("input.media", ("licence.pdf", PDF, "application/pdf")),
        world.token("employee"),
        preflight=header,
    )
    assert payload_of(response)["errors"] == []


async def test_a_body_over_the_request_cap_is_refused_before_it_is_read(
    app: MediaApp, world: World, type_id: str
) -> None:
    small = replace(app.settings, max_request_bytes=2_000)
    async with http_client_on(small, app.clock) as http:
        response = await post_files(
            http,
            CREATE,
            submission(world, type_id),
            files_at("input.media", ("licence.pdf", PDF + bytes(2_000), "application/pdf")),
            world.token("employee"),
        )
    assert response.status_code == 413
    assert await credential_count(app, world) == 0
    assert stored_files(app.media_dir) == []


async def test_a_chunked_body_is_cut_off_once_it_passes_the_request_cap(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given a multipart body streamed in chunks, with no Content-Length to judge it by
    data, parts = multipart(
        CREATE,
        submission(world, type_id),
        files_at("input.media", ("licence.pdf", PDF + bytes(3_000), "application/pdf")),
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
    assert await credential_count(app, world) == 0
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
    variables = submission(world, type_id)
    variables["input"]["media"] = ["JVBERi0xLjcK"]
    body = await app.graphql.execute(CREATE, variables, token=world.token("employee"))
    errors = body["data"]["createCredential"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "media.0")]


async def test_a_refused_mutation_leaves_no_file_behind(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given files that pass every check, sent with dates the type refuses
    variables = submission(world, type_id)
    variables["input"]["expiryDate"] = "2020-01-01"  # before the issue date
    response = await post_files(
        app.http,
        CREATE,
        variables,
        files_at("input.media", ("a.pdf", PDF, "application/pdf"), ("b.png", PNG, "image/png")),
        world.token("employee"),
    )
    # when the transaction is rolled back; then the files written for it are gone too
    assert [e["code"] for e in payload_of(response)["errors"]] == ["EXPIRY_BEFORE_ISSUE"]
    assert stored_files(app.media_dir) == []


async def test_a_refused_mutation_keeps_identical_content_that_a_committed_version_holds(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given a credential holding a PDF
    first = await submit(app, world, type_id, ("a.pdf", PDF, "application/pdf"))
    assert first["errors"] == []
    # when a refused submission (a second live credential of the type) sends the same PDF
    again = await submit(app, world, type_id, ("a.pdf", PDF, "application/pdf"))
    # then the stored file stays: the first credential still names it
    assert [e["code"] for e in again["errors"]] == ["DUPLICATE_CREDENTIAL"]
    assert [p.read_bytes() for p in stored_files(app.media_dir)] == [PDF]


MEDIA_COUNT = """
query Count($id: ID!) {
  credential(id: $id) { latestVersion { mediaCount media { filename } } }
}
"""


@pytest.mark.parametrize(
    ("holder", "viewer", "sees_files"),
    [
        ("employee", "employee", True),
        ("employee", "credentials_manager", True),
        ("bolt_worker", "bolt_contact", False),  # sees the credential, not its details
    ],
)
async def test_media_count_says_how_many_files_a_version_carries_to_all_who_see_it(
    app: MediaApp, world: World, type_id: str, holder: str, viewer: str, sees_files: bool
) -> None:
    files = [("front.jpg", JPEG, "image/jpeg"), ("scan.pdf", PDF, "application/pdf")]
    credential = (await submit(app, world, type_id, *files, holder=holder))["credential"]

    body = await app.graphql.execute(
        MEDIA_COUNT, {"id": credential["id"]}, token=world.token(viewer)
    )

    latest = body["data"]["credential"]["latestVersion"]
    assert latest["mediaCount"] == 2
    assert (latest["media"] is not None) is sees_files
