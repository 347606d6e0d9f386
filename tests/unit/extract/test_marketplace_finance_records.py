"""eBay getTransactions and Amazon listTransactions answers, hand-written in the vendors' documented shapes
(sell_finances_v1_oas3 Transaction; finances_2024-06-19.json Transaction), become the raw finance rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from narrowcast.contracts.windows import Window
from narrowcast.sources.amazon_finances.extract import breakdown_records, request_window
from narrowcast.sources.amazon_finances.extract import transaction_record as amazon_transaction
from narrowcast.sources.ebay_finances.extract import fee_line_records, window_filter
from narrowcast.sources.ebay_finances.extract import transaction_record as ebay_transaction

EBAY_SALE = {
    "transactionId": "1*****6-3*****9", "orderId": "12-34567-89012", "transactionType": "SALE",
    "transactionStatus": "PAYOUT", "bookingEntry": "CREDIT", "transactionDate": "2026-03-30T10:15:00.000Z",
    "amount": {"value": "35.25", "currency": "EUR"}, "totalFeeAmount": {"value": "4.75", "currency": "EUR"},
    "orderLineItems": [
        {"lineItemId": "10000001", "feeBasisAmount": {"value": "25.00", "currency": "EUR"},
         "marketplaceFees": [{"feeType": "FINAL_VALUE_FEE", "amount": {"value": "2.75", "currency": "EUR"}},
                             {"feeType": "FINAL_VALUE_FEE_FIXED_PER_ORDER",
                              "amount": {"value": "0.35", "currency": "EUR"}}]},
        {"lineItemId": "10000002", "feeBasisAmount": {"value": "15.00", "currency": "EUR"},
         "marketplaceFees": [{"feeType": "FINAL_VALUE_FEE", "amount": {"value": "1.00", "currency": "EUR"}},
                             {"feeType": "FINAL_VALUE_FEE", "amount": {"value": "0.65", "currency": "EUR"}}]},
    ],
}

AMAZON_SHIPMENT = {
    "sellingPartnerMetadata": {"sellingPartnerId": "A3TH9S8BH6GOGM", "accountType": "Standard Orders",
                               "marketplaceId": "A1PA6795UKMFR9"},
    "relatedIdentifiers": [{"relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID", "relatedIdentifierValue": "4MVa"},
                           {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": "302-1234567-7654321"}],
    "transactionType": "Shipment", "transactionId": "b1qD0oAliFk", "transactionStatus": "RELEASED",
    "description": "Order Payment", "postedDate": "2026-03-30T03:35:13.214Z",
    "totalAmount": {"currencyAmount": 16.95, "currencyCode": "EUR"},
    "marketplaceDetails": {"marketplaceId": "A1PA6795UKMFR9", "marketplaceName": "Amazon.de"},
    "items": [{
        "description": "Mug", "totalAmount": {"currencyAmount": 16.95, "currencyCode": "EUR"},
        "relatedIdentifiers": [{"itemRelatedIdentifierName": "ORDER_ADJUSTMENT_ITEM_ID",
                                "itemRelatedIdentifierValue": "81297625-121-27551"}],
        "breakdowns": [
            {"breakdownType": "ProductCharges", "breakdownAmount": {"currencyAmount": 20.0, "currencyCode": "EUR"},
             "breakdowns": [{"breakdownType": "Principal",
                             "breakdownAmount": {"currencyAmount": 20.0, "currencyCode": "EUR"}, "breakdowns": []}]},
            {"breakdownType": "AmazonFees", "breakdownAmount": {"currencyAmount": -3.05, "currencyCode": "EUR"},
             "breakdowns": [
                 {"breakdownType": "Commission",
                  "breakdownAmount": {"currencyAmount": -3.0, "currencyCode": "EUR"}, "breakdowns": []},
                 {"breakdownType": "DigitalServicesFee",
                  "breakdownAmount": {"currencyAmount": -0.05, "currencyCode": "EUR"}, "breakdowns": []}]},
        ],
        "contexts": [{"contextType": "ProductContext", "asin": "B07FGXZQZ1", "sku": "MUG-01", "quantityShipped": 2,
                      "fulfillmentNetwork": "MFN"}],
    }],
}


def test_an_ebay_sale_becomes_one_transaction_row_with_its_order_and_total_fee():
    row = ebay_transaction(EBAY_SALE, "page 1")
    assert row == {
        "transaction_id": "1*****6-3*****9", "transaction_type": "SALE", "transaction_status": "PAYOUT",
        "booking_entry": "CREDIT", "order_id": "12-34567-89012", "transaction_date": datetime(2026, 3, 30, 10, 15),
        "amount": Decimal("35.25"), "total_fee_amount": Decimal("4.75"), "currency": "EUR"}


def test_ebay_fees_are_one_row_per_order_line_and_fee_type_with_split_fees_summed():
    rows = {(r["line_item_id"], r["fee_type"]): r["fee_amount"] for r in fee_line_records(EBAY_SALE, "page 1")}
    assert rows == {("10000001", "FINAL_VALUE_FEE"): Decimal("2.75"),
                    ("10000001", "FINAL_VALUE_FEE_FIXED_PER_ORDER"): Decimal("0.35"),
                    ("10000002", "FINAL_VALUE_FEE"): Decimal("1.65")}
    assert sum(rows.values()) == Decimal(EBAY_SALE["totalFeeAmount"]["value"])


def test_an_ebay_payout_without_fee_or_lines_has_no_fee_and_no_fee_rows():
    payout = {"transactionId": "P-1", "transactionType": "TRANSFER", "transactionDate": "2026-03-30T00:00:00.000Z",
              "amount": {"value": "100.00", "currency": "EUR"}, "bookingEntry": "DEBIT"}
    assert ebay_transaction(payout, "p")["total_fee_amount"] is None
    assert fee_line_records(payout, "p") == []


def test_the_ebay_filter_names_the_transaction_date_range_in_millisecond_utc():
    window = Window(datetime(2026, 3, 30), datetime(2026, 3, 31))
    assert window_filter(window) == "transactionDate:[2026-03-30T00:00:00.000Z..2026-03-31T00:00:00.000Z]"


@pytest.mark.parametrize("broken", [
    pytest.param({**EBAY_SALE, "transactionId": None}, id="a transaction without id"),
    pytest.param({**EBAY_SALE, "amount": {"value": "a lot", "currency": "EUR"}}, id="an amount that is no number"),
])
def test_a_malformed_ebay_transaction_is_refused_with_where_it_came_from(broken):
    with pytest.raises(ValueError, match="page 7"):
        ebay_transaction(broken, "page 7")


def test_an_amazon_shipment_row_carries_the_order_id_from_its_related_identifiers():
    row = amazon_transaction(AMAZON_SHIPMENT, "page 1")
    assert (row["transaction_id"], row["order_id"], row["marketplace_id"], row["total_amount"], row["currency"]) == (
        "b1qD0oAliFk", "302-1234567-7654321", "A1PA6795UKMFR9", Decimal("16.95"), "EUR")
    assert row["posted_date"] == datetime(2026, 3, 30, 3, 35, 13, 214000)


def test_amazon_item_breakdowns_become_one_row_per_leaf_with_the_sku_and_its_path():
    rows = {r["breakdown_path"]: (r["sku"], r["quantity"], r["item_number"], r["amount"])
            for r in breakdown_records(AMAZON_SHIPMENT, "page 1")}
    assert rows == {"ProductCharges > Principal": ("MUG-01", 2, 1, Decimal("20.0")),
                    "AmazonFees > Commission": ("MUG-01", 2, 1, Decimal("-3.0")),
                    "AmazonFees > DigitalServicesFee": ("MUG-01", 2, 1, Decimal("-0.05"))}


def test_a_transaction_without_items_keeps_its_own_breakdowns_as_item_zero():
    # The model's own example wraps the transaction's breakdowns in an object: both shapes are read.
    fee_only = {**AMAZON_SHIPMENT, "items": [], "breakdowns": {"breakdowns": [
        {"breakdownType": "Expenses", "breakdownAmount": {"currencyAmount": -39.0, "currencyCode": "EUR"},
         "breakdowns": [{"breakdownType": "Subscription Fee",
                         "breakdownAmount": {"currencyAmount": -39.0, "currencyCode": "EUR"}, "breakdowns": []}]}]}}
    assert [(r["item_number"], r["sku"], r["breakdown_path"], r["amount"])
            for r in breakdown_records(fee_only, "p")] == [(0, None, "Expenses > Subscription Fee", Decimal("-39.0"))]


def test_an_amazon_window_is_cut_three_minutes_before_now_and_skipped_when_nothing_is_left():
    now = datetime(2026, 3, 31, 12, 0)
    assert request_window(Window(datetime(2026, 3, 31, 11), datetime(2026, 3, 31, 12)), now) == Window(
        datetime(2026, 3, 31, 11), datetime(2026, 3, 31, 11, 57))
    assert request_window(Window(datetime(2026, 3, 31, 11, 58), datetime(2026, 3, 31, 12)), now) is None
