"""The loyalty source's declaration: one raw table of members and their points, merged on the member id."""

from __future__ import annotations

from narrowcast.contracts.extraction import imported
from narrowcast.contracts.tables import EntitySpec, SourceSpec

LOYALTY_MEMBERS = EntitySpec(
    "loyalty_members",
    {"member_id": "BIGINT", "email": "VARCHAR", "points": "INTEGER", "updated_at": "TIMESTAMP"},
    key=("member_id",),
    required=("email", "points", "updated_at"),
    non_negative=("points",),
    not_future=("updated_at",),
)

SOURCE = SourceSpec(
    "loyalty",
    imported("recipe_pkg.extract:extract"),
    (LOYALTY_MEMBERS,),
    connection_id="loyalty_api",
)
