"""The loyalty destination: sets a member's tier in the loyalty tool (recorded in memory instead of sent)."""

from __future__ import annotations

from typing import Any, ClassVar

from narrowcast.activation.destinations.base import Batch, Destination, Limits, ObjectSpec, RowResult


class LoyaltyTiers(Destination):
    name = "loyalty_tiers"
    connection_id = "loyalty_api"
    objects = {"member_tier": ObjectSpec(required_fields=frozenset({"email", "tier"}))}
    limits = Limits(max_batch_size=100, default_rps=10, default_burst=10)

    received: ClassVar[list[dict[str, Any]]] = []

    def send(self, batch: Batch) -> list[RowResult]:
        LoyaltyTiers.received.extend(dict(change.payload) for change in batch.changes)
        return [RowResult(change.key, "accepted") for change in batch.changes]
