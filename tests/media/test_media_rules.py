"""Files under the type's and organization's rules, on renewals and edits (with their
activity), and the store after credentials are deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.credentials.factories import approve, create_type, global_id
from tests.media.conftest import MediaApp
from tests.media.files import (
    JPEG,
    PDF,
    PNG,
    WEBP,
    File,
    post_files,
    stored_files,
)
from tests.media.submissions import (
    ADD,
    ARCHIVE,
    DELETE,
    DELETE_MANY,
    EDIT,
    UPDATE_SETTINGS,
    credential_count,
    files_at,
    payload_of,
    submit,
)
from tests.world import World

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
    payload = await submit(app, world, type_id, *files)
    # then it is accepted or refused as the rules say, and a refusal stores nothing
    assert [(e["code"], e["field"]) for e in payload["errors"]] == errors
    assert await credential_count(app, world) == (0 if errors else 1)
    if errors:
        assert stored_files(app.media_dir) == []


# Renewals and edits -------------------------------------------------------------------


async def test_a_renewal_carries_its_own_files(app: MediaApp, world: World, type_id: str) -> None:
    # given a credential with a scan
    created = (await submit(app, world, type_id, ("2026.pdf", PDF, "application/pdf")))[
        "credential"
    ]
    token = world.token("employee")
    renewal = {"issueDate": "2029-01-10", "expiryDate": "2032-01-10"}
    variables = {"input": {"credentialId": created["id"], **renewal}}
    # when it is renewed without files, then with one
    without = payload_of(await post_files(app.http, ADD, variables, {}, token))
    photo = files_at("input.media", ("2029.jpg", JPEG, "image/jpeg"))
    renewed = payload_of(await post_files(app.http, ADD, variables, photo, token))
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
        app.http, EDIT, variables, files_at("input.addMedia", *files), world.token("employee")
    )
    return payload_of(response)


async def test_an_edit_adds_and_removes_files_and_the_activity_says_so(
    app: MediaApp, world: World, type_id: str
) -> None:
    # given a credential with a front and a back photo
    created = await submit(
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
    created = (await submit(app, world, type_id, ("a.pdf", PDF, "application/pdf")))["credential"]
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
    created = (await submit(app, world, type_id, ("a.pdf", PDF, "application/pdf")))["credential"]
    edited = await _edit(app, world, created, removeMediaIds=[remove])
    assert [(e["code"], e["field"]) for e in edited["errors"]] == [("NOT_FOUND", field)]


async def test_adding_past_the_cap_counts_the_files_already_there(
    app: MediaApp, world: World, type_id: str
) -> None:
    created = (
        await submit(
            app, world, type_id, ("a.pdf", PDF, "application/pdf"), ("b.png", PNG, "image/png")
        )
    )["credential"]
    edited = await _edit(app, world, created, ("c.jpg", JPEG, "image/jpeg"), ("d.webp", WEBP, "x"))
    assert [(e["code"], e["field"]) for e in edited["errors"]] == [("TOO_MANY_MEDIA", "addMedia")]
    assert sorted(p.read_bytes() for p in stored_files(app.media_dir)) == sorted([PDF, PNG])


async def test_a_new_file_on_an_approved_version_sends_it_back_for_review(
    app: MediaApp, world: World, type_id: str
) -> None:
    created = (await submit(app, world, type_id, ("a.pdf", PDF, "application/pdf")))["credential"]
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
    mine = (await submit(app, world, type_id, shared, ("me.jpg", JPEG, "image/jpeg")))["credential"]
    theirs = (await submit(app, world, type_id, shared, holder="acme_worker"))["credential"]
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
        credential_id = (await submit(app, world, type_id, file, holder=holder))["credential"]["id"]
        await app.graphql.execute(ARCHIVE, {"id": credential_id}, token=admin)
        ids.append(credential_id)
    body = await app.graphql.execute(DELETE_MANY, {"ids": ids}, token=admin)
    assert [r["ok"] for r in body["data"]["deleteCredentials"]["results"]] == [True, True]
    assert stored_files(app.media_dir) == []
