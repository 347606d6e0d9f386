"""The marketplace destinations' own check of the minimum advertised price, behind the listing feed's.

The feed already raises every price to its ``map_floor``; a destination still refuses a row whose price is
below the ``price_floor`` the sync maps, so a hand-edited mart or a wrong mapping can never advertise below a
brand's floor. Withdrawals and removals carry no price to the marketplace (eBay) or one that is not on sale,
yet Amazon's patch would still set it: every row that would send a price is checked.
"""

from __future__ import annotations

from decimal import Decimal

from narrowcast.activation.destinations.base import Change, RowResult

FIELD = "price_floor"


def below_floor(change: Change) -> RowResult | None:
    """A rejection (never sent) when the row would publish a price below its floor; None otherwise."""
    price, floor = change.payload.get("price"), change.payload.get(FIELD)
    if change.op == "remove" or price is None or floor is None:
        return None
    if Decimal(str(price)) < Decimal(str(floor)):
        return RowResult(change.key, "rejected", f"price {price} is below its minimum advertised price {floor}",
                         sent=False)
    return None


def split_by_floor(changes: list[Change]) -> tuple[list[Change], dict[str, RowResult]]:
    """The changes that may be sent, and a rejection for each one below its floor."""
    sendable: list[Change] = []
    refused: dict[str, RowResult] = {}
    for change in changes:
        rejection = below_floor(change)
        if rejection is None:
            sendable.append(change)
        else:
            refused[change.key] = rejection
    return sendable, refused
