"""Every error code an emulator can answer with is one its vendor documents.

The emulators' error builders are found in their source (every call, whatever branch it sits in), their code
argument read, and each code checked against the table below, which names the document it comes from. A new
refusal in an emulator therefore needs its vendor's document here first.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from typing import Any

import pytest

# (document, codes) per vendor.
AMAZON_SP_API = ("SP-API error responses of the selling-partner-api-models (orders_2026-01-01.json, ordersV0.json, "
                 "listingsItems_2021-08-01.json, feeds_2021-06-30.json): InvalidInput 400, Unauthorized 403, "
                 "NotFound 404, QuotaExceeded 429, InternalFailure 500",
                 {"InvalidInput", "Unauthorized", "NotFound", "QuotaExceeded", "InternalFailure"})
AMAZON_S3 = ("Amazon S3 API Reference, Error responses (list of error codes)", {"AccessDenied", "NoSuchKey"})
EBAY_FULFILLMENT = ("sell_fulfillment_v1_oas3, getOrders errors; eBay common errors 1001 (invalid access token) "
                    "and 2001 (too many requests)",
                    {1001, 2001, 30500, 30700, 30800, 30810, 31000, 31100})
EBAY_SHIPPING = ("sell_fulfillment_v1_oas3, createShippingFulfillment and getShippingFulfillments errors: 32100 invalid "
                 "order id, 32200 invalid line item id, 32210 duplicate line item, 32300 invalid tracking number or "
                 "carrier, 32500 invalid shipped date, 32600 invalid input data",
                 {32100, 32200, 32210, 32300, 32500, 32600})
EBAY_INVENTORY = ("sell_inventory_v1_oas3: 25001 system error and 25002 user error (every operation), 25713 offer "
                  "not available (getOffer, publishOffer, withdrawOffer); eBay common 1001 and 2001",
                  {1001, 2001, 25001, 25002, 25713})
EBAY_FINANCES = ("sell_finances_v1_oas3, getTransactions errors: 135000 internal error, 135003 invalid pagination, "
                 "135008 invalid transaction date filter; eBay common 1001 and 2001; 'Digital Signatures for APIs' "
                 "215120 signature validation failed", {1001, 2001, 135000, 135003, 135008, 215120})
KLAVIYO = ("Klaviyo API overview, errors (JSON:API error objects) and rate limits: invalid 400, "
           "not_authenticated 401, not_found 404, throttled 429, error 5xx",
           {"invalid", "not_authenticated", "not_found", "throttled", "error"})
META = ("Graph API 'Handling errors' and Marketing API error reference: 1 unknown error, 2 service unavailable, "
        "17 user request limit reached, 100 invalid parameter, 190 invalid OAuth access token, "
        "2500 error parsing graph query; Meta's blog 'Upcoming change in Marketing API version deprecation' "
        "(2024-04-16): 2635 deprecated version of the Ads API", {1, 2, 17, 100, 190, 2500, 2635})
GOOGLE = ("google.rpc.Code (googleapis google/rpc/code.proto), the status of every Google API error",
          {"INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED", "NOT_FOUND", "RESOURCE_EXHAUSTED",
           "UNAVAILABLE", "INTERNAL"})
DATA_MANAGER = ("Data Manager API ErrorReason (developers.google.com/data-manager/api/reference/rest/v1/ErrorReason), "
                "the reason of each google.rpc.ErrorInfo the API answers with",
                {"INVALID_ARGUMENT", "REQUIRED_FIELD_MISSING", "INVALID_ENUM_VALUE", "INVALID_HEX_ENCODING",
                 "INVALID_BASE64_ENCODING", "INVALID_SHA256_FORMAT", "TOO_MANY_AUDIENCE_MEMBERS",
                 "TOO_MANY_USER_IDENTIFIERS", "TOO_MANY_DESTINATIONS", "INVALID_USER_LIST_ID",
                 "TERMS_AND_CONDITIONS_NOT_SIGNED", "NOT_FOUND", "RESOURCE_EXHAUSTED"})
ETSY = ("Etsy Open API v3 reference, the responses of getShopReceipts, getListingInventory, updateListingInventory, "
        "updateListing, createReceiptShipment, createDraftListing, getListingsByShop, getListingImages and "
        "uploadListingImage (400, 401, 403, 404, 409, 500; errors are {\"error\": ...}), and "
        "'Rate Limits' (429 with retry-after); Etsy's errors carry no code, so the HTTP status is checked",
        {400, 401, 403, 404, 409, 429, 500})
SHOPIFY_PRODUCT_SET = ("Shopify GraphQL Admin ProductSetUserErrorCode (the code of each ProductSetUserError "
                       "productSet answers)",
                       {"PRODUCT_DOES_NOT_EXIST", "MISSING_FIELD_REQUIRED", "PRODUCT_OPTIONS_INPUT_MISSING",
                        "OPTION_VALUES_MISSING", "OPTION_VALUE_DOES_NOT_EXIST", "HANDLE_NOT_UNIQUE",
                        "INVALID_VARIANT", "DUPLICATED_OPTION_NAME", "DUPLICATED_OPTION_VALUE", "OPTIONS_OVER_LIMIT",
                        "VARIANTS_OVER_LIMIT"})
SHOPIFY_DISCOUNTS = ("Shopify GraphQL Admin DiscountErrorCode (the code of each DiscountUserError the discount "
                     "mutations and a DiscountRedeemCodeBulkCreation's codes answer)",
                     {"BLANK", "TAKEN", "TOO_LONG", "INVALID", "MISSING_ARGUMENT", "VALUE_OUTSIDE_RANGE",
                      "INTERNAL_ERROR"})

# emulator module → (vendor table, {error builder: where its code argument sits (position, keyword, default)})
EMULATORS: dict[str, tuple[tuple[str, set[Any]], dict[str, tuple[int, str, Any]]]] = {
    "amazon": (AMAZON_SP_API, {"amazon_error": (1, "code", None)}),
    "amazon_listings": (AMAZON_SP_API, {"sp_error": (1, "code", None)}),
    "amazon_listings:s3": (AMAZON_S3, {"_s3_error": (1, "code", None)}),
    "ebay": (EBAY_FULFILLMENT, {"ebay_error": (1, "error_id", None)}),
    "ebay_shipping": (EBAY_SHIPPING, {"_invalid": (0, "error_id", None)}),
    "amazon_shipments": (AMAZON_SP_API, {"amazon_error": (1, "code", None)}),
    "ebay_inventory": (EBAY_INVENTORY, {"ebay_error": (0, "error_id", None)}),
    "ebay_finances": (EBAY_FINANCES, {"ebay_error": (1, "error_id", None)}),
    "amazon_finances": (AMAZON_SP_API, {"amazon_error": (1, "code", None)}),
    "klaviyo": (KLAVIYO, {"api_error": (3, "code", "invalid")}),
    "meta": (META, {"meta_error": (-1, "code", None)}),
    "meta_audiences": (META, {"graph_error": (1, "code", None)}),
    "google_ads": (GOOGLE, {"google_error": (1, "status", None)}),
    "google_customer_match": (GOOGLE, {"google_error": (1, "status", None)}),
    "data_manager": (DATA_MANAGER, {"data_manager_error": (0, "reason", None), "_violation": (1, "reason", None)}),
    "data_manager:status": (GOOGLE, {"rpc_status": (1, "status", None)}),
    "etsy": (ETSY, {"etsy_error": (0, "status", None)}),
    "shopify_products": (SHOPIFY_PRODUCT_SET, {"_user_error": (2, "code", None)}),
    "shopify_checkouts": (SHOPIFY_DISCOUNTS, {"_user_error": (2, "code", None)}),
}


def emulator_codes(name: str) -> list[tuple[int, Any]]:
    """(line, code) of every call to the module's error builders."""
    module = importlib.import_module(f"narrowcast.sandbox.emulators.{name.split(':')[0]}")
    builders = EMULATORS[name][1]
    found = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if called not in builders:
            continue
        position, keyword, default = builders[called]
        argument = next((k.value for k in node.keywords if k.arg == keyword), None)
        if argument is None and 0 <= position < len(node.args):
            argument = node.args[position]
        if argument is None:
            found.append((node.lineno, default))
        elif isinstance(argument, ast.Constant):
            found.append((node.lineno, argument.value))
        elif isinstance(argument, ast.Name) and hasattr(module, argument.id):
            found.append((node.lineno, getattr(module, argument.id)))
        else:
            found.append((node.lineno, f"<not a literal: {ast.unparse(argument)}>"))
    return found


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in EMULATORS])
def test_every_error_code_an_emulator_answers_is_documented_by_its_vendor(name):
    (document, documented), _ = EMULATORS[name]
    codes = emulator_codes(name)
    assert codes, f"{name}: no error builder call found; the table of builders is out of date"
    undocumented = [(line, code) for line, code in codes if code not in documented]
    assert undocumented == [], f"{name}: codes not in {document}"


def test_the_invented_codes_are_gone():
    every = {code for name in EMULATORS for _, code in emulator_codes(name)}
    # 25020 is eBay's "invalid shipping package details", never "offer not published"; 4000001/4000002 were made up
    assert not every & {25020, 25702, 25708, 25709, 25710, 25711, 21919, "4000001", "4000002", "ServiceUnavailable"}
