"""Amazon Listings feeds against the emulator: pre-signed S3 transfers, GZIP processing reports, feed-level issues."""

from __future__ import annotations

import pytest
from activation_fixtures import feed_rows, feed_sync

from narrowcast.activation import run_sync
from narrowcast.activation.report import SyncFailed


def test_the_feed_upload_and_report_download_send_no_sp_api_header_to_the_pre_signed_urls(
        emulators, connections, warehouse):
    # GIVEN a batch above the feed threshold (50), and pre-signed URLs that refuse unsigned x-amz-* headers as S3 does
    warehouse.replace("marketplace_listing_feed", feed_rows(60, ("amazon",)))
    # WHEN the sync runs
    report = run_sync(feed_sync("amazon"), connections=connections, warehouse=warehouse.path)
    # THEN the feed went through (upload and the GZIP report download both accepted) and every row is confirmed
    calls = emulators["amazon_listings"].calls
    assert (calls["createFeed"], calls["upload"], calls["download"]) == (1, 1, 1)
    assert (report.accepted, report.rejected) == (60, 0)
    # AND the run's API calls count the two S3 transfers with the SP-API requests the emulator answered
    assert report.api_calls == sum(calls.values())


def test_a_gzip_processing_report_is_unzipped_and_its_message_issues_reject_their_rows(
        emulators, connections, warehouse):
    # GIVEN 60 rows of which one names a SKU the seller does not hold (reported in the GZIP result document)
    rows = feed_rows(60, ("amazon",))
    rows[7]["listing_id"] = "SKU-UNKNOWN"
    warehouse.replace("marketplace_listing_feed", rows)
    # WHEN the sync runs
    report = run_sync(feed_sync("amazon"), connections=connections, warehouse=warehouse.path)
    # THEN only that row is rejected, with Amazon's issue
    assert (report.accepted, report.rejected) == (59, 1)


def test_a_feed_level_issue_without_message_id_rejects_every_row_of_the_feed(emulators, connections, warehouse):
    # GIVEN a processing report whose only issue concerns the feed as a whole (no messageId)
    emulators["amazon_listings"].feed_level_issues = [
        {"code": "90244", "severity": "ERROR", "message": "We can't accept the feed header you entered."}]
    warehouse.replace("marketplace_listing_feed", feed_rows(60, ("amazon",)))
    # WHEN the sync runs
    with pytest.raises(SyncFailed) as failed:
        run_sync(feed_sync("amazon"), connections=connections, warehouse=warehouse.path)
    # THEN no row counts as confirmed, each rejected with the feed's issue (not a KeyError on messageId)
    assert (failed.value.report.accepted, failed.value.report.rejected) == (0, 60)
