"""Requests the Google Ads connectors send (the reporting source's ``googleAds:searchStream``, the Customer Match
destination's OfflineUserDataJobService calls) and the emulators' answers, validated against facts restated from the
googleapis protos: google/ads/googleads/v25/services/google_ads_service.proto (SearchGoogleAdsStreamRequest,
SearchGoogleAdsStreamResponse and its REST binding), …/services/offline_user_data_job_service.proto,
…/common/offline_user_data.proto, …/resources/campaign.proto, …/common/metrics.proto, …/common/segments.proto,
…/errors/errors.proto (GoogleAdsFailure, ErrorCode, ErrorDetails) and the error enums, google/rpc/code.proto.

v25 is the newest version in the googleapis copy these facts were read from; the connectors default to v26
(``narrowcast.apis.versions``), whose messages used here are to be checked again once its protos are at hand.
"""

from __future__ import annotations

import ast
import inspect
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.google_customer_match import GoogleCustomerMatch
from narrowcast.apis import versions
from narrowcast.contracts.windows import Window
from narrowcast.sandbox.emulators import google_ads as google_ads_emulator
from narrowcast.sandbox.emulators import google_customer_match as customer_match_emulator
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sources import google_ads

CUSTOMER = "4815162342"
MANAGER = "1112223333"
VERSION = versions.GOOGLE_ADS.default

# ---- facts -----------------------------------------------------------------------------------------------------
# Every Google Ads request: the OAuth bearer token, the developer-token header and, through a manager account,
# login-customer-id as digits without hyphens (REST interface, "Call structure").
HEADERS = {"type": "object", "required": ["authorization", "developer-token"],
           "properties": {"authorization": {"type": "string", "pattern": r"^Bearer \S+$"},
                          "developer-token": {"type": "string", "minLength": 1},
                          "login-customer-id": {"type": "string", "pattern": r"^\d+$"}}}
# GoogleAdsService.SearchStream: post "/{version}/customers/{customer_id=*}/googleAds:searchStream", body "*";
# SearchGoogleAdsStreamRequest: customer_id (in the path) and query REQUIRED, summary_row_setting.
SUMMARY_ROW_SETTINGS = ["UNSPECIFIED", "UNKNOWN", "NO_SUMMARY_ROW", "SUMMARY_ROW_WITH_RESULTS", "SUMMARY_ROW_ONLY"]
SEARCH_STREAM_BODY = {"type": "object", "required": ["query"], "additionalProperties": False,
                      "properties": {"query": {"type": "string", "minLength": 1},
                                     "summaryRowSetting": {"enum": SUMMARY_ROW_SETTINGS}}}
# The GAQL fields the source selects and their proto types: Campaign.id int64, Campaign.name string,
# Campaign.resource_name string, Customer.id int64, Segments.date string (YYYY-MM-DD), Metrics.impressions,
# clicks, cost_micros int64, Metrics.conversions, conversions_value double.
FIELD_TYPES = {"campaign.id": "int64", "campaign.name": "string", "campaign.resource_name": "string",
               "customer.id": "int64", "segments.date": "date", "metrics.impressions": "int64",
               "metrics.clicks": "int64", "metrics.cost_micros": "int64", "metrics.conversions": "double",
               "metrics.conversions_value": "double"}
# proto3 JSON: int64 as a decimal string, double as a number, field names in lowerCamelCase.
JSON_OF = {"int64": {"type": "string", "pattern": r"^-?\d+$"}, "double": {"type": "number"},
           "string": {"type": "string"}, "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}}
GAQL = re.compile(r"^SELECT (?P<fields>[a-z_.]+(?:, [a-z_.]+)*) FROM (?P<resource>[a-z_]+)"
                  r" WHERE segments\.date BETWEEN '(?P<since>\d{4}-\d{2}-\d{2})' AND '(?P<until>\d{4}-\d{2}-\d{2})'"
                  r"(?: ORDER BY (?P<order>[a-z_.]+(?: (?:ASC|DESC))?(?:, [a-z_.]+(?: (?:ASC|DESC))?)*))?$")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def row_schema() -> dict[str, Any]:
    """GoogleAdsRow restricted to the resources of FIELD_TYPES: each group holds only its fields."""
    groups: dict[str, dict[str, Any]] = {}
    for field, kind in FIELD_TYPES.items():
        group, name = field.split(".")
        groups.setdefault(group, {})[camel(name)] = JSON_OF[kind]
    return {"type": "object", "additionalProperties": False,
            "properties": {group: {"type": "object", "additionalProperties": False, "properties": props}
                           for group, props in groups.items()}}


# SearchGoogleAdsStreamResponse: results, field_mask, summary_row, request_id, query_resource_consumption (int64),
# metric_attributes; searchStream over REST answers a JSON array of them.
STREAM_RESPONSE = {"type": "array", "items": {
    "type": "object", "additionalProperties": False,
    "properties": {"results": {"type": "array", "items": row_schema()}, "fieldMask": {"type": "string"},
                   "summaryRow": row_schema(), "requestId": {"type": "string", "minLength": 1},
                   "queryResourceConsumption": JSON_OF["int64"], "metricAttributes": {"type": "array"}}}}

# The error enums (google/ads/googleads/v25/errors/<name>.proto) under their ErrorCode oneof field, as proto3 JSON
# names them. Every value, so a code an emulator invents is caught.
ERROR_ENUMS: dict[str, set[str]] = {name: set(values.split()) for name, values in {
    "requestError": "UNSPECIFIED UNKNOWN RESOURCE_NAME_MISSING RESOURCE_NAME_MALFORMED BAD_RESOURCE_ID "
                    "INVALID_CUSTOMER_ID OPERATION_REQUIRED RESOURCE_NOT_FOUND INVALID_PAGE_TOKEN EXPIRED_PAGE_TOKEN "
                    "INVALID_PAGE_SIZE PAGE_SIZE_NOT_SUPPORTED REQUIRED_FIELD_MISSING IMMUTABLE_FIELD "
                    "TOO_MANY_MUTATE_OPERATIONS TOO_MANY_ACTION_OPERATIONS CANNOT_BE_EXECUTED_BY_MANAGER_ACCOUNT "
                    "CANNOT_MODIFY_FOREIGN_FIELD INVALID_ENUM_VALUE DEVELOPER_TOKEN_PARAMETER_MISSING "
                    "LOGIN_CUSTOMER_ID_PARAMETER_MISSING VALIDATE_ONLY_REQUEST_HAS_PAGE_TOKEN "
                    "CANNOT_RETURN_SUMMARY_ROW_FOR_REQUEST_WITHOUT_METRICS "
                    "CANNOT_RETURN_SUMMARY_ROW_FOR_VALIDATE_ONLY_REQUESTS INCONSISTENT_RETURN_SUMMARY_ROW_VALUE "
                    "TOTAL_RESULTS_COUNT_NOT_ORIGINALLY_REQUESTED RPC_DEADLINE_TOO_SHORT UNSUPPORTED_VERSION "
                    "CLOUD_PROJECT_NOT_FOUND",
    "queryError": "UNSPECIFIED UNKNOWN QUERY_ERROR BAD_ENUM_CONSTANT BAD_ESCAPE_SEQUENCE BAD_FIELD_NAME "
                  "BAD_LIMIT_VALUE BAD_NUMBER BAD_OPERATOR BAD_PARAMETER_NAME BAD_PARAMETER_VALUE "
                  "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE BAD_SYMBOL BAD_VALUE DATE_RANGE_TOO_WIDE DATE_RANGE_TOO_NARROW "
                  "EXPECTED_AND EXPECTED_BY EXPECTED_DIMENSION_FIELD_IN_SELECT_CLAUSE EXPECTED_FILTERS_ON_DATE_RANGE "
                  "EXPECTED_FROM EXPECTED_LIST EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE EXPECTED_SELECT "
                  "EXPECTED_SINGLE_VALUE EXPECTED_VALUE_WITH_BETWEEN_OPERATOR INVALID_DATE_FORMAT "
                  "MISALIGNED_DATE_FOR_FILTER INVALID_STRING_VALUE INVALID_VALUE_WITH_BETWEEN_OPERATOR "
                  "INVALID_VALUE_WITH_DURING_OPERATOR INVALID_VALUE_WITH_LIKE_OPERATOR OPERATOR_FIELD_MISMATCH "
                  "PROHIBITED_EMPTY_LIST_IN_CONDITION PROHIBITED_ENUM_CONSTANT "
                  "PROHIBITED_FIELD_COMBINATION_IN_SELECT_CLAUSE PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE "
                  "PROHIBITED_FIELD_IN_SELECT_CLAUSE PROHIBITED_FIELD_IN_WHERE_CLAUSE "
                  "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE "
                  "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE "
                  "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE "
                  "PROHIBITED_SEGMENT_WITH_METRIC_IN_SELECT_OR_WHERE_CLAUSE PROHIBITED_FIELD_OR_SEGMENT_WITH_METRIC "
                  "LIMIT_VALUE_TOO_LOW PROHIBITED_NEWLINE_IN_STRING PROHIBITED_VALUE_COMBINATION_IN_LIST "
                  "PROHIBITED_VALUE_COMBINATION_WITH_BETWEEN_OPERATOR STRING_NOT_TERMINATED TOO_MANY_SEGMENTS "
                  "UNEXPECTED_END_OF_QUERY UNEXPECTED_FROM_CLAUSE UNRECOGNIZED_FIELD UNEXPECTED_INPUT "
                  "REQUESTED_METRICS_FOR_MANAGER FILTER_HAS_TOO_MANY_VALUES REQUIRED_SEGMENT_FIELD_MISSING",
    "authenticationError": "UNSPECIFIED UNKNOWN AUTHENTICATION_ERROR CLIENT_CUSTOMER_ID_INVALID CUSTOMER_NOT_FOUND "
                           "GOOGLE_ACCOUNT_DELETED GOOGLE_ACCOUNT_COOKIE_INVALID "
                           "GOOGLE_ACCOUNT_AUTHENTICATION_FAILED GOOGLE_ACCOUNT_USER_AND_ADS_USER_MISMATCH "
                           "LOGIN_COOKIE_REQUIRED NOT_ADS_USER OAUTH_TOKEN_INVALID OAUTH_TOKEN_EXPIRED "
                           "OAUTH_TOKEN_DISABLED OAUTH_TOKEN_REVOKED OAUTH_TOKEN_HEADER_INVALID LOGIN_COOKIE_INVALID "
                           "INVALID_EMAIL_ADDRESS USER_ID_INVALID TWO_STEP_VERIFICATION_NOT_ENROLLED "
                           "ADVANCED_PROTECTION_NOT_ENROLLED ORGANIZATION_NOT_RECOGNIZED ORGANIZATION_NOT_APPROVED "
                           "ORGANIZATION_NOT_ASSOCIATED_WITH_DEVELOPER_TOKEN DEVELOPER_TOKEN_INVALID",
    "authorizationError": "UNSPECIFIED UNKNOWN USER_PERMISSION_DENIED DEVELOPER_TOKEN_NOT_ON_ALLOWLIST "
                          "DEVELOPER_TOKEN_PROHIBITED PROJECT_DISABLED AUTHORIZATION_ERROR ACTION_NOT_PERMITTED "
                          "INCOMPLETE_SIGNUP CUSTOMER_NOT_ENABLED MISSING_TOS DEVELOPER_TOKEN_NOT_APPROVED "
                          "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION "
                          "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION SERVICE_ACCESS_DENIED "
                          "ACCESS_DENIED_FOR_ACCOUNT_TYPE METRIC_ACCESS_DENIED CLOUD_PROJECT_NOT_UNDER_ORGANIZATION "
                          "ACTION_NOT_PERMITTED_FOR_SUSPENDED_ACCOUNT",
    "quotaError": "UNSPECIFIED UNKNOWN RESOURCE_EXHAUSTED ACCESS_PROHIBITED RESOURCE_TEMPORARILY_EXHAUSTED "
                  "EXCESSIVE_SHORT_TERM_QUERY_RESOURCE_CONSUMPTION EXCESSIVE_LONG_TERM_QUERY_RESOURCE_CONSUMPTION "
                  "PAYMENTS_PROFILE_ACTIVATION_RATE_LIMIT_EXCEEDED",
    "internalError": "UNSPECIFIED UNKNOWN INTERNAL_ERROR ERROR_CODE_NOT_PUBLISHED TRANSIENT_ERROR DEADLINE_EXCEEDED",
    "offlineUserDataJobError": "UNSPECIFIED UNKNOWN INVALID_USER_LIST_ID INVALID_USER_LIST_TYPE "
                               "NOT_ON_ALLOWLIST_FOR_USER_ID INCOMPATIBLE_UPLOAD_KEY_TYPE MISSING_USER_IDENTIFIER "
                               "INVALID_MOBILE_ID_FORMAT TOO_MANY_USER_IDENTIFIERS "
                               "NOT_ON_ALLOWLIST_FOR_STORE_SALES_DIRECT NOT_ON_ALLOWLIST_FOR_UNIFIED_STORE_SALES "
                               "INVALID_PARTNER_ID INVALID_ENCODING INVALID_COUNTRY_CODE INCOMPATIBLE_USER_IDENTIFIER "
                               "FUTURE_TRANSACTION_TIME INVALID_CONVERSION_ACTION MOBILE_ID_NOT_SUPPORTED "
                               "INVALID_OPERATION_ORDER CONFLICTING_OPERATION EXTERNAL_UPDATE_ID_ALREADY_EXISTS "
                               "JOB_ALREADY_STARTED REMOVE_NOT_SUPPORTED REMOVE_ALL_NOT_SUPPORTED INVALID_SHA256_FORMAT "
                               "CUSTOM_KEY_DISABLED CUSTOM_KEY_NOT_PREDEFINED CUSTOM_KEY_NOT_SET "
                               "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS "
                               "ATTRIBUTES_NOT_APPLICABLE_FOR_CUSTOMER_MATCH_USER_LIST "
                               "LIFETIME_VALUE_BUCKET_NOT_IN_RANGE INCOMPATIBLE_USER_IDENTIFIER_FOR_ATTRIBUTES "
                               "FUTURE_TIME_NOT_ALLOWED LAST_PURCHASE_TIME_LESS_THAN_ACQUISITION_TIME "
                               "CUSTOMER_IDENTIFIER_NOT_ALLOWED INVALID_ITEM_ID "
                               "FIRST_PURCHASE_TIME_GREATER_THAN_LAST_PURCHASE_TIME INVALID_LIFECYCLE_STAGE "
                               "INVALID_EVENT_VALUE EVENT_ATTRIBUTE_ALL_FIELDS_ARE_REQUIRED "
                               "OPERATION_LEVEL_CONSENT_PROVIDED",
}.items()}
# google/rpc/code.proto.
RPC_CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
             "PERMISSION_DENIED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
             "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"]
# ErrorCode is a oneof: exactly one member, its value from that member's enum.
ERROR_CODE = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
              "properties": {name: {"enum": sorted(values)} for name, values in ERROR_ENUMS.items()}}
# GoogleAdsError: error_code, message, trigger (Value), location (ErrorLocation), details (ErrorDetails).
GOOGLE_ADS_ERROR = {
    "type": "object", "required": ["errorCode", "message"], "additionalProperties": False,
    "properties": {
        "errorCode": ERROR_CODE, "message": {"type": "string"}, "trigger": {"type": "object"},
        "location": {"type": "object", "additionalProperties": False, "properties": {"fieldPathElements": {
            "type": "array", "items": {"type": "object", "required": ["fieldName"], "additionalProperties": False,
                                       "properties": {"fieldName": {"type": "string"},
                                                      "index": {"type": "integer"}}}}}},
        "details": {"type": "object", "additionalProperties": False, "properties": {
            "unpublishedErrorCode": {"type": "string"}, "policyViolationDetails": {"type": "object"},
            "policyFindingDetails": {"type": "object"}, "resourceCountDetails": {"type": "object"},
            "budgetPerDayMinimumErrorDetails": {"type": "object"}, "reservationErrorDetails": {"type": "object"},
            "incompatibleCloGoalErrorDetails": {"type": "object"},
            "quotaErrorDetails": {"type": "object", "additionalProperties": False, "properties": {
                "rateScope": {"enum": ["UNSPECIFIED", "UNKNOWN", "ACCOUNT", "DEVELOPER"]},
                "rateName": {"type": "string"},
                "retryDelay": {"type": "string", "pattern": r"^\d+(\.\d+)?s$"}}}}},
    },
}
FAILURE_TYPE = r"^type\.googleapis\.com/google\.ads\.googleads\.v\d+\.errors\.GoogleAdsFailure$"
# GoogleAdsFailure: errors (repeated GoogleAdsError), request_id.
GOOGLE_ADS_FAILURE = {"type": "object", "required": ["@type", "errors"], "additionalProperties": False,
                      "properties": {"@type": {"type": "string", "pattern": FAILURE_TYPE},
                                     "errors": {"type": "array", "minItems": 1, "items": GOOGLE_ADS_ERROR},
                                     "requestId": {"type": "string"}}}
# google.rpc.Status as Google's REST APIs send it, details holding the GoogleAdsFailure (and a RetryInfo).
RPC_STATUS = {
    "type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "status", "details"], "additionalProperties": False,
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "status": {"enum": RPC_CODES},
                       "details": {"type": "array", "contains": GOOGLE_ADS_FAILURE, "minContains": 1,
                                   "maxContains": 1,
                                   "items": {"anyOf": [GOOGLE_ADS_FAILURE, {
                                       "type": "object", "required": ["@type"],
                                       "properties": {"@type": {"const": "type.googleapis.com/google.rpc.RetryInfo"},
                                                      "retryDelay": {"type": "string"}}}]}}}}},
}
# OfflineUserDataJobService (offline_user_data_job_service.proto, common/offline_user_data.proto,
# resources/offline_user_data_job.proto, common/consent.proto): create's job, addOperations' operations (a
# oneof of create / remove UserData / remove_all), run with no other field than validate_only.
CONSENT = {"type": "object", "additionalProperties": False,
           "properties": {key: {"enum": ["UNSPECIFIED", "UNKNOWN", "GRANTED", "DENIED"]}
                          for key in ("adUserData", "adPersonalization")}}
USER_IDENTIFIER = {"type": "object", "minProperties": 1, "additionalProperties": False,
                   "properties": {"userIdentifierSource": {"type": "string"},
                                  "hashedEmail": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                  "hashedPhoneNumber": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                  "mobileId": {"type": "string"}, "thirdPartyUserId": {"type": "string"},
                                  "addressInfo": {"type": "object"}},
                   "not": {"anyOf": [{"required": [a, b]} for a, b in [("hashedEmail", "hashedPhoneNumber"),
                                                                       ("hashedEmail", "mobileId"),
                                                                       ("hashedPhoneNumber", "mobileId")]]}}
USER_DATA = {"type": "object", "additionalProperties": False,
             "properties": {"userIdentifiers": {"type": "array", "minItems": 1, "items": USER_IDENTIFIER},
                            "transactionAttribute": {"type": "object"}, "userAttribute": {"type": "object"},
                            "consent": CONSENT}}
CREATE_JOB_BODY = {"type": "object", "required": ["job"], "additionalProperties": False, "properties": {
    "validateOnly": {"type": "boolean"}, "enableMatchRateRangePreview": {"type": "boolean"},
    "job": {"type": "object", "required": ["type"], "additionalProperties": False, "properties": {
        "externalId": {"type": "string"},
        "type": {"enum": ["CUSTOMER_MATCH_USER_LIST", "CUSTOMER_MATCH_WITH_ATTRIBUTES",
                          "STORE_SALES_UPLOAD_FIRST_PARTY", "STORE_SALES_UPLOAD_THIRD_PARTY"]},
        "customerMatchUserListMetadata": {"type": "object", "additionalProperties": False, "properties": {
            "userList": {"type": "string", "pattern": r"^customers/\d+/userLists/\d+$"}, "consent": CONSENT}},
        "storeSalesMetadata": {"type": "object"}}}}}
ADD_OPERATIONS_BODY = {"type": "object", "required": ["operations"], "additionalProperties": False, "properties": {
    "enablePartialFailure": {"type": "boolean"}, "enableWarnings": {"type": "boolean"},
    "validateOnly": {"type": "boolean"},
    "operations": {"type": "array", "minItems": 1, "items": {
        "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
        "properties": {"create": USER_DATA, "remove": USER_DATA, "removeAll": {"type": "boolean"}}}}}}
RUN_BODY = {"type": "object", "additionalProperties": False, "properties": {"validateOnly": {"type": "boolean"}}}
# SearchGoogleAdsRequest: customer_id (path), query REQUIRED, page_token, page_size, validate_only,
# search_settings (googleAds:search, which the destination uses to read its jobs' status).
SEARCH_BODY = {"type": "object", "required": ["query"], "additionalProperties": False,
               "properties": {"query": {"type": "string", "pattern": r"^SELECT .+ FROM offline_user_data_job"},
                              "pageToken": {"type": "string"}, "validateOnly": {"type": "boolean"},
                              "searchSettings": {"type": "object"}}}


# ---- helpers ---------------------------------------------------------------------------------------------------
def stats_rows(days: int = 5) -> list[dict[str, Any]]:
    start = date(2024, 3, 1)
    return [{"customer_id": int(CUSTOMER), "campaign_id": 900 + c, "campaign_name": f"Campaign {c}",
             "date": start + timedelta(days=d), "impressions": 1000 * (c + 1) + d, "clicks": (10 + d) * c,
             "cost_micros": 1_250_000 * (d + c), "conversions": 0.5 * c, "conversions_value": 12.5 * d}
            for c in range(3) for d in range(days)]


def ads_connection(sandbox, **extra: Any):
    return connection(sandbox, "narrowcast_google_ads", "google_ads", customer_id=CUSTOMER,
                      developer_token="sandbox-developer-token", login_customer_id="111-222-3333", **extra)


def post_stream(sandbox, body: Any, headers: dict[str, str] | None = None, customer: str = CUSTOMER):
    sent_headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}", "developer-token": "dev", **(headers or {})}
    return requests.post(f"{sandbox.url}/google_ads/{VERSION}/customers/{customer}/googleAds:searchStream",
                         json=body, headers={k: v for k, v in sent_headers.items() if v is not None}, timeout=10)


def error_codes_in_source(module: Any) -> list[tuple[int, str, str]]:
    """(line, ErrorCode member, value) of every errorCode literal an emulator module can answer with: dict literals
    keyed by an ErrorCode member, and the QueryError codes its GAQL parser raises."""
    found = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.endswith("Error") \
                        and isinstance(value, ast.Constant):
                    found.append((node.lineno, key.value, value.value))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "QueryError" and node.args:
            code = node.args[0]
            if isinstance(code, ast.Constant):
                found.append((node.lineno, "queryError", code.value))
            elif isinstance(code, ast.Name):  # a code chosen in a conditional just above
                found.extend((node.lineno, "queryError", value) for value in _assigned_strings(module, code.id))
    return found


def _assigned_strings(module: Any, name: str) -> list[str]:
    return [c.value for node in ast.walk(ast.parse(inspect.getsource(module)))
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
            for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)
            and c.value.isupper()]


# ---- the reporting source --------------------------------------------------------------------------------------
def test_search_stream_requests_and_answers_follow_the_google_ads_service_proto(sandbox, emulators, sent):
    # GIVEN five days of three campaigns
    emulators["google_ads_reporting"].seed_stats(stats_rows())
    # WHEN the source extracts them through a manager account
    pages = list(google_ads.extract(ads_connection(sandbox), Window(datetime(2024, 3, 1), datetime(2024, 3, 6))))
    assert sum(len(p.records) for p in pages) == 15
    (call,) = sent
    # THEN it posted a SearchGoogleAdsStreamRequest to the REST binding of the default version
    assert call.method == "POST" and call.path == f"/google_ads/{VERSION}/customers/{CUSTOMER}/googleAds:searchStream"
    assert violations(HEADERS, lower_keys(call.headers)) == []
    assert lower_keys(call.headers)["login-customer-id"] == MANAGER
    assert violations(SEARCH_STREAM_BODY, call.body) == []
    # AND its GAQL selects known fields of campaign, with the finite segments.date range a selected date needs
    gaql = GAQL.match(call.body["query"])
    assert gaql, call.body["query"]
    fields = gaql["fields"].split(", ")
    assert set(fields) <= set(FIELD_TYPES) and gaql["resource"] == "campaign"
    assert (gaql["since"], gaql["until"]) == ("2024-03-01", "2024-03-05")
    assert {item.split()[0] for item in (gaql["order"] or "").split(", ") if item} <= set(fields)
    # AND the answer is an array of SearchGoogleAdsStreamResponse whose rows hold the selected fields only
    assert call.status == 200 and violations(STREAM_RESPONSE, call.answer) == []
    selected = {f"{group}.{camel(name)}" for group, name in (f.split(".") for f in fields)}
    for batch in call.answer:
        assert set(batch["fieldMask"].split(",")) <= selected


@pytest.mark.parametrize(("body", "headers", "customer", "status", "code"), [
    pytest.param({"query": "SELECT campaign.id, segments.date FROM campaign"}, None, CUSTOMER, 400,
                 {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"}, id="a selected date without a range"),
    pytest.param({"query": "SELECT campaign.id FROM ad_group"}, None, CUSTOMER, 400,
                 {"queryError": "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE"}, id="a resource the sandbox does not serve"),
    pytest.param({"query": "SELECT campaign.id FROM campaign WHERE campaign.status = 'ENABLED'"}, None, CUSTOMER,
                 400, {"queryError": "PROHIBITED_FIELD_IN_WHERE_CLAUSE"}, id="a filter the sandbox does not serve"),
    pytest.param({"q": "SELECT campaign.id FROM campaign"}, None, CUSTOMER, 400,
                 {"requestError": "REQUIRED_FIELD_MISSING"}, id="no query"),
    pytest.param({"query": "SELECT campaign.id FROM campaign"}, {"developer-token": None}, CUSTOMER, 400,
                 {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"}, id="no developer token"),
    pytest.param({"query": "SELECT campaign.id FROM campaign"}, {"Authorization": "Bearer ya29.expired"}, CUSTOMER,
                 401, {"authenticationError": "OAUTH_TOKEN_INVALID"}, id="an access token refused"),
    pytest.param({"query": "SELECT campaign.id FROM campaign"}, None, "9999999999", 403,
                 {"authorizationError": "USER_PERMISSION_DENIED"}, id="a customer the user cannot reach"),
])
def test_search_stream_refusals_are_google_ads_failures(sandbox, emulators, body, headers, customer, status, code):
    emulators["google_ads_reporting"].seed_stats(stats_rows())
    answer = post_stream(sandbox, body, headers, customer)
    assert answer.status_code == status
    assert violations(RPC_STATUS, answer.json()) == []
    (failure,) = [d for d in answer.json()["error"]["details"] if d["@type"].endswith("GoogleAdsFailure")]
    assert failure["errors"][0]["errorCode"] == code


@pytest.mark.parametrize(("faults", "status"), [
    pytest.param({"rate_limit_share": 1.0, "retry_after_seconds": 2}, 429, id="rate limited: QuotaError + RetryInfo"),
    pytest.param({"error_share": 1.0}, 503, id="unavailable: InternalError TRANSIENT_ERROR"),
])
def test_injected_faults_answer_google_ads_failures(sandbox, emulators, faults, status):
    sandbox.faults("google_ads", **faults)
    answer = post_stream(sandbox, {"query": "SELECT campaign.id FROM campaign"})
    assert answer.status_code == status
    assert violations(RPC_STATUS, answer.json()) == []


@pytest.mark.parametrize("module", [pytest.param(google_ads_emulator, id="reporting"),
                                    pytest.param(customer_match_emulator, id="customer match")])
def test_every_error_code_the_google_ads_emulators_answer_is_in_its_errors_proto_enum(module):
    codes = error_codes_in_source(module)
    assert codes, "no errorCode literal found: the collector is out of date"
    unknown = [(line, member, value) for line, member, value in codes
               if member not in ERROR_ENUMS or value not in ERROR_ENUMS[member]]
    assert unknown == []


# ---- the Customer Match destination (Google Ads API, for allowlisted accounts) ---------------------------------
def member(i: int) -> Change:
    return Change(f"c{i}", "add", {"hashedEmail": f"{i:064x}", "hashedPhoneNumber": f"{i + 7:064x}"})


def test_customer_match_requests_follow_the_offline_user_data_job_service_proto(sandbox, emulators, sent):
    conn = ads_connection(sandbox)
    destination = GoogleCustomerMatch(send_context(conn, {"customer_id": CUSTOMER, "user_list_id": "555"},
                                                   "customer_match_list"))
    results = destination.send(Batch("run", "mirror", 1, 1, [member(i) for i in range(3)]))
    assert {r.outcome for r in results} == {"accepted"}
    destination.job_statuses([results[0].job])
    paths = [call.path.rsplit("/", 1)[-1].split(":")[-1] for call in sent]
    assert paths == ["create", "addOperations", "run", "search"]
    schemas = {"create": CREATE_JOB_BODY, "addOperations": ADD_OPERATIONS_BODY, "run": RUN_BODY,
               "search": SEARCH_BODY}
    for call, name in zip(sent, paths, strict=True):
        assert call.path.startswith(f"/google_ads/{VERSION}/customers/{CUSTOMER}/")
        assert violations(HEADERS, lower_keys(call.headers)) == []
        assert violations(schemas[name], call.body) == [], name
        assert call.status == 200


def test_customer_match_refusals_are_google_ads_failures(sandbox, emulators):
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}", "developer-token": "dev"}
    base = f"{sandbox.url}/google_ads/{VERSION}/customers/{CUSTOMER}"
    job = requests.post(f"{base}/offlineUserDataJobs:create", headers=headers, timeout=10, json={
        "job": {"type": "CUSTOMER_MATCH_USER_LIST",
                "customerMatchUserListMetadata": {"userList": f"customers/{CUSTOMER}/userLists/555"}}}).json()
    refusals = [
        requests.post(f"{base}/offlineUserDataJobs:create", headers=headers, json={"job": {}}, timeout=10),
        requests.post(f"{base}/offlineUserDataJobs/1:run", headers=headers, json={}, timeout=10),
        requests.post(f"{sandbox.url}/google_ads/{VERSION}/{job['resourceName']}:addOperations", headers=headers,
                      json={"operations": [{"create": {"userIdentifiers": [{"hashedEmail": "not-a-digest"}]}}]},
                      timeout=10),
        requests.post(f"{base}/googleAds:search", headers=headers, json={"query": "SELECT campaign.id FROM campaign"},
                      timeout=10),
    ]
    for answer in refusals:
        assert answer.status_code in (400, 404)
        assert violations(RPC_STATUS, answer.json()) == []
