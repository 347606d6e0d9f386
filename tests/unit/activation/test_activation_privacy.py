"""Identifier hashing rules and the redacting log filter."""

from __future__ import annotations

import logging

import pytest

from narrowcast.activation.identifiers import hashed_email, is_sha256_hex, normalise_phone
from narrowcast.contracts.redaction import redact, redacting_logger


@pytest.mark.parametrize(("value", "ok"), [
    pytest.param("a" * 64, True, id="lowercase-64-hex"),
    pytest.param("A" * 64, False, id="uppercase-hex-is-not-normalised"),
    pytest.param("a" * 63, False, id="too-short"),
    pytest.param("jane@example.com", False, id="raw-email"),
    pytest.param(None, False, id="none"),
])
def test_only_lowercase_64_hex_counts_as_a_sha256_identifier(value, ok):
    assert is_sha256_hex(value) is ok


def test_emails_are_trimmed_and_lowercased_before_hashing():
    assert hashed_email("  Jane.Doe@Example.COM ") == hashed_email("jane.doe@example.com")
    assert is_sha256_hex(hashed_email("jane.doe@example.com"))


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param("+49 151 1234-567", "491511234567", id="international-plus"),
    pytest.param("0049 151 1234567", "491511234567", id="double-zero-prefix"),
    pytest.param("0151 1234567", "491511234567", id="national-with-trunk-zero"),
])
def test_phones_become_e164_digits(raw, expected):
    assert normalise_phone(raw, default_country_prefix="49") == expected


@pytest.mark.parametrize("secret_text", [
    pytest.param("failed for jane.doe@example.com", id="email"),
    pytest.param("phone +49 151 1234567 rejected", id="phone"),
    pytest.param("GET /x?access_token=EAAB123secret&limit=1", id="token-in-url"),
    pytest.param("Authorization: Klaviyo-API-Key pk_live_abcdef", id="api-key-header"),
])
def test_redaction_masks_pii_and_secrets(secret_text):
    cleaned = redact(secret_text)
    for leaked in ("jane.doe@example.com", "1234567", "EAAB123secret", "pk_live_abcdef"):
        assert leaked not in cleaned


def test_the_activation_loggers_redact_messages_and_arguments(caplog):
    logger = redacting_logger("narrowcast.activation.test_probe")
    caplog.set_level(logging.INFO, logger="narrowcast.activation.test_probe")
    logger.info("row %s rejected: %s", "c1", "invalid email jane@example.com")
    assert caplog.records[0].getMessage() == "row c1 rejected: invalid email <email>"


def test_short_api_error_codes_stay_readable_after_redaction():
    assert redact("Amazon INVALID: 4000001: quantity must be >= 0") == "Amazon INVALID: 4000001: quantity must be >= 0"
