"""Identifier hygiene for ad platforms: normalise-then-SHA-256, and the 64-hex check the engine enforces."""

from __future__ import annotations

import hashlib
import re

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_NON_DIGIT = re.compile(r"\D")


def is_sha256_hex(value: object) -> bool:
    """True for a lowercase 64-hex string: what Meta and Google accept in a hashed identifier field."""
    return isinstance(value, str) and _SHA256_HEX.match(value) is not None


def normalise_email(email: str) -> str:
    """Meta/Google rule: trim and lowercase."""
    return email.strip().lower()


def normalise_phone(phone: str, default_country_prefix: str = "") -> str:
    """E.164 digits without '+': symbols dropped, '00' international prefix dropped, national numbers prefixed."""
    raw = phone.strip()
    digits = _NON_DIGIT.sub("", raw)
    if raw.startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0") and default_country_prefix:
        return default_country_prefix + digits[1:]
    return digits


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hashed_email(email: str) -> str:
    return sha256_hex(normalise_email(email))
