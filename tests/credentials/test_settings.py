"""The organization's credential settings: their defaults, who may change them, the bounds
of the expiring-soon window, and one organization's settings never touching another's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.world import World

SETTINGS = (
    "query Settings { credentialSettings { approvalsRequired mediaOptional expiringSoonDays } }"
)
UPDATE_SETTINGS = """
mutation UpdateSettings($input: UpdateCredentialSettingsInput!) {
  updateCredentialSettings(input: $input) {
    settings { approvalsRequired mediaOptional expiringSoonDays }
    errors { code field message }
  }
}
"""

DEFAULTS = {"approvalsRequired": True, "mediaOptional": False, "expiringSoonDays": 30}
CHANGED = {"approvalsRequired": False, "mediaOptional": True, "expiringSoonDays": 60}
NORTH_ROLES = [
    "admin",
    "users_manager",
    "credentials_manager",
    "company_manager",
    "acme_worker",
    "bolt_contact",
    "employee",
]
NOT_MANAGERS = ["users_manager", "company_manager", "acme_worker", "bolt_contact", "employee"]


async def _settings(graphql: GraphQLClient, token: str) -> dict[str, Any]:
    body = await graphql.execute(SETTINGS, token=token)
    settings: dict[str, Any] = body["data"]["credentialSettings"]
    return settings


async def _update(graphql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await graphql.execute(UPDATE_SETTINGS, {"input": fields}, token=token)
    payload: dict[str, Any] = body["data"]["updateCredentialSettings"]
    return payload


async def test_an_organization_that_saved_nothing_has_the_defaults(
    graphql: GraphQLClient, world: World
) -> None:
    # given organizations that never saved their settings
    roles = [*NORTH_ROLES, "south_admin", "south_worker"]
    # when anyone in them reads them
    read = {role: await _settings(graphql, world.token(role)) for role in roles}
    # then they are the defaults
    assert read == dict.fromkeys(roles, DEFAULTS)


@pytest.mark.parametrize("role", ["admin", "credentials_manager"])
async def test_a_credentials_manager_changes_the_settings(
    graphql: GraphQLClient, world: World, role: str
) -> None:
    # given a credentials manager
    token = world.token(role)
    # when they change every setting
    payload = await _update(graphql, token, **CHANGED)
    # then the change is answered and saved, for everyone in the organization
    assert payload == {"settings": CHANGED, "errors": []}
    for reader in NORTH_ROLES:
        assert await _settings(graphql, world.token(reader)) == CHANGED


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, DEFAULTS, id="nothing"),
        pytest.param(
            {"approvalsRequired": False}, {**DEFAULTS, "approvalsRequired": False}, id="approvals"
        ),
        pytest.param({"mediaOptional": True}, {**DEFAULTS, "mediaOptional": True}, id="media"),
        pytest.param(
            {"expiringSoonDays": 14}, {**DEFAULTS, "expiringSoonDays": 14}, id="the window"
        ),
        pytest.param(
            {"approvalsRequired": None, "mediaOptional": None, "expiringSoonDays": None},
            DEFAULTS,
            id="nulls keep the values",
        ),
    ],
)
async def test_settings_left_out_keep_their_values(
    graphql: GraphQLClient, world: World, changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    # given an organization's settings
    token = world.token("credentials_manager")
    # when some are changed
    payload = await _update(graphql, token, **changes)
    # then the others are as they were
    assert payload == {"settings": expected, "errors": []}
    assert await _settings(graphql, token) == expected


async def test_saved_settings_are_changed_again(graphql: GraphQLClient, world: World) -> None:
    # given settings saved once
    token = world.token("credentials_manager")
    assert (await _update(graphql, token, **CHANGED))["errors"] == []
    # when one of them is changed again
    payload = await _update(graphql, token, expiringSoonDays=7)
    # then that one changes, and the others keep what was saved
    assert payload["settings"] == {**CHANGED, "expiringSoonDays": 7}
    assert await _settings(graphql, token) == {**CHANGED, "expiringSoonDays": 7}


async def test_only_credentials_managers_change_the_settings(
    graphql: GraphQLClient, world: World
) -> None:
    # given an organization with the default settings
    for role in NOT_MANAGERS:
        # when someone without CREDENTIALS_MANAGE changes the settings
        payload = await _update(graphql, world.token(role), **CHANGED)
        # then it is refused, saying what is needed
        assert payload["settings"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("PERMISSION_DENIED", None)
        ], role
        assert "CREDENTIALS_MANAGE" in payload["errors"][0]["message"]
    # and nothing changed
    assert await _settings(graphql, world.token("admin")) == DEFAULTS


async def test_an_expiring_soon_window_out_of_bounds_is_refused(
    graphql: GraphQLClient, world: World
) -> None:
    # given a credentials manager
    token = world.token("credentials_manager")
    for days in [-1, -30, 367, 1000, 2**31 - 1]:
        # when they set a window below 0 or over 366 days, along with valid changes
        payload = await _update(graphql, token, approvalsRequired=False, expiringSoonDays=days)
        # then it is refused, naming the field and the bounds
        assert payload["settings"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID", "expiringSoonDays")
        ], days
        assert "0 to 366 days" in payload["errors"][0]["message"]
    # and nothing changed
    assert await _settings(graphql, token) == DEFAULTS


async def test_an_expiring_soon_window_within_bounds_is_kept(
    graphql: GraphQLClient, world: World
) -> None:
    # given a credentials manager
    token = world.token("credentials_manager")
    for days in [0, 1, 366]:
        # when they set a window of 0 to 366 days
        payload = await _update(graphql, token, expiringSoonDays=days)
        # then it is kept
        assert payload["errors"] == []
        assert (await _settings(graphql, token))["expiringSoonDays"] == days


async def test_each_organization_has_its_own_settings(graphql: GraphQLClient, world: World) -> None:
    # given the north organization's settings changed
    north, south = world.token("admin"), world.token("south_admin")
    assert (await _update(graphql, north, **CHANGED))["errors"] == []
    # when the south organization reads its own / then they are still the defaults
    assert await _settings(graphql, south) == DEFAULTS
    assert await _settings(graphql, world.token("south_worker")) == DEFAULTS

    # when the south organization changes its own
    south_settings = {"approvalsRequired": True, "mediaOptional": True, "expiringSoonDays": 90}
    assert (await _update(graphql, south, **south_settings))["errors"] == []
    # then each organization reads what it saved
    assert await _settings(graphql, south) == south_settings
    assert await _settings(graphql, north) == CHANGED
