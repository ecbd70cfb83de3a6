"""`node` and `nodes`: any object by its global id, null when it is not there for the viewer.

Strawberry's own relay fields fail with an internal error on a global id of a type that is
not a Node, and fail the whole list on one undecodable id; these answer null instead, as
for any id the viewer cannot see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from strawberry import Info, relay
from strawberry.types.base import get_object_definition
from strawberry.utils.await_maybe import await_maybe

from resolvers.context import RequestContext
from resolvers.errors import BadInputError
from schema.company import CompanyType
from schema.credential import CredentialNode, CredentialVersionNode
from schema.credential_type import CredentialTypeNode
from schema.deliveries import DeliveryNode
from schema.ids import parse_global_id
from schema.job_role import JobRoleNode
from schema.media import CredentialMediaType
from schema.notifications import NotificationNode
from schema.organization import OrganizationType
from schema.user import UserType

MAX_NODES = 100

NODE_TYPES: dict[str, type[relay.Node]] = {
    get_object_definition(node_type, strict=True).name: node_type
    for node_type in (
        UserType,
        CompanyType,
        OrganizationType,
        CredentialTypeNode,
        CredentialNode,
        CredentialVersionNode,
        NotificationNode,
        DeliveryNode,
        CredentialMediaType,
        JobRoleNode,
    )
}


async def resolve_global_ids(
    info: Info[RequestContext, None], ids: Sequence[str]
) -> list[relay.Node | None]:
    if len(ids) > MAX_NODES:
        raise BadInputError(f"'ids' takes at most {MAX_NODES} ids, got {len(ids)}")
    info.context.require_viewer()
    wanted: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for position, value in enumerate(ids):
        global_id = parse_global_id(value)
        if global_id is not None and global_id.type_name in NODE_TYPES:
            wanted[global_id.type_name].append((position, global_id.node_id))
    found: list[relay.Node | None] = [None] * len(ids)
    for type_name, entries in wanted.items():
        resolved = await await_maybe(
            NODE_TYPES[type_name].resolve_nodes(
                info=info, node_ids=[node_id for _, node_id in entries]
            )
        )
        for (position, _), node in zip(entries, resolved, strict=True):
            found[position] = node
    return found
