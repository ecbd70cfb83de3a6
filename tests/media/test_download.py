"""Downloading files through their signed links: the headers that keep browsers from
rendering them, access that follows the credential's permissions, expiry and tampering,
and the organization's access log."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from models.tenancy import scoped_to
from server.database import Database
from services import identity
from services.media.links import LinkClaims, sign
from tests.credentials.factories import create_type, global_id, local_key
from tests.media.conftest import START, MediaApp
from tests.media.files import JPEG, PDF, post_files
from tests.world import World

CREATE = """
mutation Create($input: CreateCredentialInput!) {
  createCredential(input: $input) {
    credential { id latestVersion { media { id filename contentType size url } } }
    errors { code field message }
  }
}
"""
MEDIA = """
query Media($id: ID!) {
  credential(id: $id) { latestVersion { media { id filename url } } }
}
"""
MEDIA_ACTIVITY = """
query MediaActivity($id: ID!) {
  credential(id: $id) { activity { field newValue } }
}
"""
NODE = """
query Node($id: ID!) { node(id: $id) { ... on CredentialMedia { id filename } } }
"""
LOG = """
query Log($first: Int!, $after: String, $filter: MediaAccessFilterInput) {
  mediaAccessLog(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { node { at filename credentialId viewer { name } holder { name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ARCHIVE = "mutation Archive($id: ID!) { archiveCredential(id: $id) { errors { code } } }"
DELETE = "mutation Delete($id: ID!) { deleteCredential(id: $id, confirm: true) { deletedId } }"

PHOTO_NAME = "Führerschein vorne.jpg"


async def _credential(app: MediaApp, world: World, holder: str = "acme_worker") -> dict[str, Any]:
    """A credential of `holder` (of a type of its own) with a PDF and a photo, submitted
    by the holder."""
    type_id = await create_type(
        app.graphql, world.token("admin"), name=f"Licence of {holder}", mediaRule="REQUIRED"
    )
    variables = {
        "input": {
            "typeId": type_id,
            "holderId": global_id("User", world.user_ids[holder]),
            "issueDate": "2026-01-15",
            "expiryDate": "2029-01-15",
        }
    }
    files = {
        "input.media.0": ("licence.pdf", PDF, "application/pdf"),
        "input.media.1": (PHOTO_NAME, JPEG, "image/jpeg"),
    }
    response = await post_files(app.http, CREATE, variables, files, world.token(holder))
    payload = response.json()["data"]["createCredential"]
    assert payload["errors"] == []
    credential: dict[str, Any] = payload["credential"]
    return credential


async def _media_of(
    app: MediaApp, world: World, role: str, credential_id: str
) -> list[dict[str, Any]] | None:
    body = await app.graphql.execute(MEDIA, {"id": credential_id}, token=world.token(role))
    credential = body["data"]["credential"]
    if credential is None:
        return None
    media: list[dict[str, Any]] | None = credential["latestVersion"]["media"]
    return media


async def _get(app: MediaApp, url: str) -> httpx.Response:
    """Open a link as a browser does: no Authorization header, the link is the key."""
    return await app.http.get(urlsplit(url).path)


def _link_for(app: MediaApp, world: World, role: str, media_id: str) -> str:
    """A link as the API signs it for `role`'s token, whether or not `role` may see the
    file: what the download itself decides is under test."""
    claims = LinkClaims(
        media_id=local_key(media_id),
        organization_id=world.north_id if not role.startswith("south") else world.south_id,
        token_id=world.token_ids[role],
        expires=int(START.timestamp()) + 300,
    )
    return "/media/" + sign(app.settings.secret_key, claims)


async def test_a_download_is_an_attachment_of_the_detected_type_that_browsers_do_not_sniff(
    app: MediaApp, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # given a credential with a PDF and a photo whose name needs encoding
    caplog.set_level(logging.INFO, logger="credentials.media")
    credential = await _credential(app, world)
    pdf, photo = credential["latestVersion"]["media"]
    # when the holder opens both links
    pdf_response = await _get(app, pdf["url"])
    photo_response = await _get(app, photo["url"])
    # then each is the file itself, offered for download, typed by content, never sniffed
    assert pdf_response.status_code == 200
    assert pdf_response.content == PDF
    assert pdf_response.headers["content-type"] == "application/pdf"
    assert pdf_response.headers["content-disposition"] == (
        "attachment; filename=\"licence.pdf\"; filename*=UTF-8''licence.pdf"
    )
    assert photo_response.content == JPEG
    assert photo_response.headers["content-type"] == "image/jpeg"
    assert photo_response.headers["content-disposition"] == (
        'attachment; filename="F_hrerschein vorne.jpg"; '
        "filename*=UTF-8''F%C3%BChrerschein%20vorne.jpg"
    )
    for response in (pdf_response, photo_response):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "private, no-store"
    assert urlsplit(pdf["url"]).netloc == "testserver"
    # and each download is logged with who and what, never the link itself
    logged = [r for r in caplog.records if r.getMessage() == "media download"]
    assert [(getattr(r, "media_id", None), getattr(r, "user_id", None)) for r in logged] == [
        (local_key(pdf["id"]), world.user_ids["acme_worker"]),
        (local_key(photo["id"]), world.user_ids["acme_worker"]),
    ]
    assert not any(urlsplit(pdf["url"]).path in r.getMessage() for r in caplog.records)
    # and the metrics count downloads under the route, not under each link
    metrics = (await app.http.get("/metrics")).text
    assert 'http_requests_total{route="/media/{link}",status="200"} 2.0' in metrics


@pytest.mark.parametrize(
    ("role", "sees_media", "downloads"),
    [
        pytest.param("acme_worker", True, True, id="holder"),
        pytest.param("company_manager", True, True, id="manager of the holder's company"),
        pytest.param("credentials_manager", True, True, id="credentials manager"),
        pytest.param("users_manager", True, True, id="users manager"),
        pytest.param("bolt_contact", None, False, id="key contact of another company"),
        pytest.param("employee", None, False, id="other worker"),
        pytest.param("bolt_worker", None, False, id="worker of another company"),
        pytest.param("south_admin", None, False, id="admin of another organization"),
    ],
)
async def test_who_may_download_follows_the_credential_permissions(
    app: MediaApp, world: World, role: str, sees_media: bool | None, downloads: bool
) -> None:
    # given the Acme worker's credential with files
    credential = await _credential(app, world)
    media_id = credential["latestVersion"]["media"][0]["id"]
    # when someone reads its files, and opens a link issued to their own token
    media = await _media_of(app, world, role, credential["id"])
    node = await app.graphql.execute(NODE, {"id": media_id}, token=world.token(role))
    response = await app.http.get(_link_for(app, world, role, media_id))
    # then they see and open them exactly when they may see the credential's details
    assert (media is not None) == bool(sees_media)
    assert node["data"]["node"] == (
        {"id": media_id, "filename": "licence.pdf"} if sees_media else None
    )
    if media is not None:
        assert [m["filename"] for m in media] == ["licence.pdf", PHOTO_NAME]
    assert response.status_code == (200 if downloads else 404)
    assert (response.content == PDF) is downloads


async def test_a_key_contact_sees_the_credential_but_not_its_files(
    app: MediaApp, world: World
) -> None:
    # given a Bolt worker's credential; when Bolt's key contact reads it
    credential = await _credential(app, world, holder="bolt_worker")
    media_id = credential["latestVersion"]["media"][0]["id"]
    body = await app.graphql.execute(
        MEDIA, {"id": credential["id"]}, token=world.token("bolt_contact")
    )
    # then the credential is there, its files are not, and a link would not open them
    assert body == {"data": {"credential": {"latestVersion": {"media": None}}}}
    node = await app.graphql.execute(NODE, {"id": media_id}, token=world.token("bolt_contact"))
    assert node["data"]["node"] is None
    activity = await app.graphql.execute(
        MEDIA_ACTIVITY, {"id": credential["id"]}, token=world.token("bolt_contact")
    )
    names = [
        a["newValue"] for a in activity["data"]["credential"]["activity"] if a["field"] == "media"
    ]
    assert names == [None, None]  # the file names are details too
    response = await app.http.get(_link_for(app, world, "bolt_contact", media_id))
    assert response.status_code == 404


async def test_a_link_works_until_it_expires(app: MediaApp, world: World) -> None:
    # given a link read at a moment (links are valid for 300 seconds)
    credential = await _credential(app, world)
    read_at = START + timedelta(hours=1)
    app.clock.now, app.clock.step = read_at, timedelta()
    media = await _media_of(app, world, "acme_worker", credential["id"])
    assert media is not None
    url = media[0]["url"]
    # when it is opened at the last second of its time, and at the end of it
    app.clock.now = read_at + timedelta(seconds=299)
    before = await _get(app, url)
    app.clock.now = read_at + timedelta(seconds=300)
    after = await _get(app, url)
    # then the first opens the file and the second is refused as expired
    assert before.status_code == 200
    assert after.status_code == 410
    [error] = after.json()["errors"]
    assert "expired" in error["message"]
    assert error["extensions"]["code"] == "LINK_EXPIRED"


def _tampered(path: str) -> list[str]:
    link = path.rsplit("/", 1)[1]
    media_id, organization, token, expires, signature = link.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        f"/media/{int(media_id) + 1}.{organization}.{token}.{expires}.{signature}",
        f"/media/{media_id}.{organization}.{token}.{int(expires) + 3600}.{signature}",
        f"/media/{media_id}.{organization}.{int(token) + 1}.{expires}.{signature}",
        f"/media/{media_id}.{organization}.{token}.{expires}.{flipped}",
        f"/media/{media_id}.{organization}.{token}.{expires}",
        "/media/not-a-link",
    ]


async def test_a_tampered_link_is_refused(app: MediaApp, world: World) -> None:
    credential = await _credential(app, world)
    path = urlsplit(credential["latestVersion"]["media"][0]["url"]).path
    for tampered in _tampered(path):
        response = await app.http.get(tampered)
        assert response.status_code == 404, tampered
    other_key = sign("another-secret-key-of-32-characters-or-more", LinkClaims(1, 1, 1, 2**40))
    assert (await app.http.get("/media/" + other_key)).status_code == 404


async def test_a_link_dies_with_its_token(app: MediaApp, world: World, database: Database) -> None:
    # given a link read by the holder
    credential = await _credential(app, world)
    url = credential["latestVersion"]["media"][0]["url"]
    # when the holder's token is revoked
    async with database.transaction(scoped_to(world.north_id)) as session:
        await identity.revoke_token(session, world.north_id, world.token_ids["acme_worker"], START)
    # then the link no longer opens the file
    assert (await _get(app, url)).status_code == 404


async def _log(app: MediaApp, world: World, role: str, first: int = 20) -> dict[str, Any]:
    return await app.graphql.execute(LOG, {"first": first}, token=world.token(role))


async def test_every_download_is_recorded_and_credential_managers_read_the_log(
    app: MediaApp, world: World
) -> None:
    # given two downloads by the holder and one by their company's manager
    credential = await _credential(app, world)
    pdf, photo = credential["latestVersion"]["media"]
    await _get(app, pdf["url"])
    await _get(app, photo["url"])
    manager_media = await _media_of(app, world, "company_manager", credential["id"])
    assert manager_media is not None
    await _get(app, manager_media[0]["url"])
    # and a refused attempt and a HEAD request, which opened nothing
    await app.http.get(_link_for(app, world, "employee", pdf["id"]))
    head = await app.http.head(urlsplit(pdf["url"]).path)
    assert (head.status_code, head.headers["content-type"]) == (200, "application/pdf")
    # when a credentials manager reads the log
    body = await _log(app, world, "credentials_manager")
    # then it lists every opening, newest first: who, whose credential, which file
    log = body["data"]["mediaAccessLog"]
    assert log["totalCount"] == 3
    assert [
        (e["node"]["viewer"]["name"], e["node"]["holder"]["name"], e["node"]["filename"])
        for e in log["edges"]
    ] == [
        ("Company Manager", "Acme Worker", "licence.pdf"),
        ("Acme Worker", "Acme Worker", PHOTO_NAME),
        ("Acme Worker", "Acme Worker", "licence.pdf"),
    ]
    assert {e["node"]["credentialId"] for e in log["edges"]} == {credential["id"]}


async def test_the_log_pages_and_outlives_the_credential(app: MediaApp, world: World) -> None:
    credential = await _credential(app, world)
    pdf = credential["latestVersion"]["media"][0]
    for _ in range(3):
        assert (await _get(app, pdf["url"])).status_code == 200
    admin = world.token("admin")
    await app.graphql.execute(ARCHIVE, {"id": credential["id"]}, token=admin)
    await app.graphql.execute(DELETE, {"id": credential["id"]}, token=admin)
    first = (await _log(app, world, "credentials_manager", first=2))["data"]["mediaAccessLog"]
    after = first["pageInfo"]["endCursor"]
    body = await app.graphql.execute(
        LOG, {"first": 2, "after": after}, token=world.token("credentials_manager")
    )
    second = body["data"]["mediaAccessLog"]
    assert (len(first["edges"]), first["pageInfo"]["hasNextPage"]) == (2, True)
    assert (len(second["edges"]), second["pageInfo"]["hasNextPage"]) == (1, False)
    assert second["edges"][0]["node"]["credentialId"] == credential["id"]


async def test_the_log_is_filtered_by_credential_holder_viewer_and_time(
    app: MediaApp, world: World
) -> None:
    # given openings: the Acme worker's file by them, then by their manager, then a Bolt
    # worker's file by that worker
    acme = await _credential(app, world)
    bolt = await _credential(app, world, holder="bolt_worker")
    await _get(app, acme["latestVersion"]["media"][0]["url"])
    manager_media = await _media_of(app, world, "company_manager", acme["id"])
    assert manager_media is not None
    await _get(app, manager_media[0]["url"])
    await _get(app, bolt["latestVersion"]["media"][0]["url"])
    everything = (await _log(app, world, "credentials_manager"))["data"]["mediaAccessLog"]
    middle = everything["edges"][1]["node"]["at"]
    user = {role: global_id("User", world.user_ids[role]) for role in world.user_ids}
    cases = [
        ({"holderId": user["acme_worker"]}, ["Company Manager", "Acme Worker"]),
        ({"viewerId": user["company_manager"]}, ["Company Manager"]),
        ({"credentialId": bolt["id"]}, ["Bolt Worker"]),
        ({"since": middle}, ["Bolt Worker", "Company Manager"]),
        ({"until": middle}, ["Acme Worker"]),
        (
            {"since": middle.removesuffix("+00:00"), "holderId": user["bolt_worker"]},
            ["Bolt Worker"],
        ),
        ({"holderId": "not-an-id"}, []),
        ({"credentialId": user["acme_worker"]}, []),
    ]
    for given, viewers in cases:
        # when the log is read with a filter; then it lists just the matching openings
        body = await app.graphql.execute(
            LOG, {"first": 20, "filter": given}, token=world.token("credentials_manager")
        )
        log = body["data"]["mediaAccessLog"]
        assert [e["node"]["viewer"]["name"] for e in log["edges"]] == viewers, given
        assert log["totalCount"] == len(viewers), given


@pytest.mark.parametrize(
    "role", ["users_manager", "company_manager", "acme_worker", "employee", "bolt_contact"]
)
async def test_only_credentials_managers_read_the_log(
    app: MediaApp, world: World, role: str
) -> None:
    body = await _log(app, world, role)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_log_of_one_organization_is_not_shown_to_another(
    app: MediaApp, world: World
) -> None:
    credential = await _credential(app, world)
    await _get(app, credential["latestVersion"]["media"][0]["url"])
    body = await _log(app, world, "south_admin")
    assert body["data"]["mediaAccessLog"]["totalCount"] == 0
