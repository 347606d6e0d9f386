"""Amazon listing creation against the emulator: attributes validated against the product type schema before sending."""

from __future__ import annotations

from listing_content_fixtures import content_rows, content_warehouse, listing_connections, listing_sync

from narrowcast.activation import run_sync


def test_a_missing_required_attribute_is_rejected_locally_with_its_schema_path_and_never_sent(
        emulators, sandbox, warehouse):
    # GIVEN shirts for Amazon: one without a brand, one without the SHIRT type's required size, one with a GTIN
    # that is not digits, and a complete one
    wh = content_warehouse(warehouse)
    rows = content_rows(4, "amazon")
    rows[0]["brand"] = None
    rows[1]["aspects"] = '{"color": "Blue"}'
    rows[2]["aspects"] = '{"size": "M", "color": "Blue"}'
    rows[3]["aspects"], rows[3]["gtin"] = '{"size": "L"}', "EAN-UNKNOWN"
    wh.replace("marketplace_listing_content", rows)
    # WHEN the listing sync runs
    report = run_sync(listing_sync("amazon"), connections=listing_connections(sandbox.url), warehouse=wh.path,
                      rejected_threshold=1.0)
    # THEN the three invalid rows are refused with the JSON-schema path, only the valid one reaches Amazon
    amazon = emulators["amazon_listings"]
    reasons = dict(wh.query("select record_key, reason from activation.sync_rejections"))
    assert (report.accepted, report.rejected, report.sent) == (1, 3, 1)
    assert "$.attributes.brand: 'brand' is a required property" in reasons["CAT-00000"]
    assert "$.attributes.size: 'size' is a required property" in reasons["CAT-00001"]
    assert "$.attributes.externally_assigned_product_identifier[0].value: 'EAN-UNKNOWN' does not match" in reasons["CAT-00003"]
    assert amazon.calls["putListingsItem"] == 1 and list(amazon.puts) == ["CAT-00002"]
    assert amazon.puts["CAT-00002"]["attributes"]["brand"][0]["value"] == "Narrowcast Wear"
    # AND the product type definition was asked for once, its schema downloaded at most once (cached per URL)
    assert amazon.calls["getDefinitionsProductType"] == 1 and amazon.calls.get("schemaDownload", 0) <= 1


def test_a_valid_listing_is_created_then_patched_on_a_title_change_and_deleted_when_it_leaves(
        emulators, sandbox, warehouse):
    # GIVEN a complete shirt
    wh = content_warehouse(warehouse)
    rows = content_rows(1, "amazon")
    rows[0]["aspects"] = '{"size": "M"}'
    wh.replace("marketplace_listing_content", rows)
    connections = listing_connections(sandbox.url)
    amazon = emulators["amazon_listings"]
    # WHEN it is synced, renamed, then removed from the catalogue
    created = run_sync(listing_sync("amazon"), connections=connections, warehouse=wh.path)
    assert created.accepted == 1 and amazon.listings["CAT-00000"]["price"] == "29.99"
    rows[0]["title"] = "Linen shirt, stone washed"
    wh.replace("marketplace_listing_content", rows)
    changed = run_sync(listing_sync("amazon"), connections=connections, warehouse=wh.path)
    wh.replace("marketplace_listing_content", [])
    removed = run_sync(listing_sync("amazon"), connections=connections, warehouse=wh.path, confirm_removals=True)
    # THEN one PUT, one PATCH and one DELETE did it
    assert (changed.accepted, removed.accepted) == (1, 1)
    assert {m: amazon.calls.get(m) for m in ("putListingsItem", "patchListingsItem", "deleteListingsItem")} == {
        "putListingsItem": 1, "patchListingsItem": 1, "deleteListingsItem": 1}
    assert "CAT-00000" not in amazon.listings
