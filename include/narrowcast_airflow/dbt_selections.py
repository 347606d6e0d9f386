"""The dbt selections DAGs build outside the full transform, shared with the tests that check what they rebuild."""

from __future__ import annotations

# The stock path's build before every push: the listing feed with every model upstream of it (ERP snapshots,
# products, order lines, open orders of every channel), so a stock file or an order loaded since the last
# transform reaches the push, and a failed test of any of them stops it. Seeds (price rules, channels) stay with
# transform; "cautious" leaves out the tests that also read models outside this chain, which only transform
# refreshes.
STOCK_FEED = ("--select", "+marketplace_listing_feed", "--exclude", "resource_type:seed",
              "--indirect-selection", "cautious")
