"""API keys of the profile read API: who may read profiles, which customers they see and how fast they may ask.

Keys are random tokens shown once (``narrowcast serve new-api-key``); only their SHA-256 is stored, in a JSON file
(``NARROWCAST_PROFILE_API_KEYS_FILE``, default ``<data dir>/serve/api_keys.json``) or in the variable
``NARROWCAST_PROFILE_API_KEYS`` holding the same JSON::

    {"keys": [{"client": "storefront", "sha256": "<hex>", "sources": ["shop"],
               "rate_per_second": 20, "burst": 40}]}

``sources`` (optional) restricts the key to customers known to those sources (``customer_identity_links.source``:
shop, file, ebay, amazon, etsy): a headless storefront keyed to ``shop`` never sees a marketplace-only buyer.
A fast hash is enough because the tokens carry 256 random bits: there is nothing to guess from the digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from narrowcast import settings

KEYS_FILE = ("serve", "api_keys.json")
DEFAULT_RATE_PER_SECOND = 20.0
DEFAULT_BURST = 40
TOKEN_PREFIX = "ncp_"


@dataclass(frozen=True)
class ApiKey:
    client: str
    sources: frozenset[str] | None = None
    rate_per_second: float = DEFAULT_RATE_PER_SECOND
    burst: int = DEFAULT_BURST


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def parse_keys(text: str, origin: str) -> dict[str, ApiKey]:
    """The keys of one JSON document, by digest; the error names ``origin`` and the entry, never a digest."""
    try:
        entries = json.loads(text)["keys"]
    except (ValueError, KeyError, TypeError):
        raise settings.ConfigError(f"{origin} is not a JSON object with a \"keys\" list") from None
    keys: dict[str, ApiKey] = {}
    for number, entry in enumerate(entries, start=1):
        try:
            sha = str(entry["sha256"]).lower()
            if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise ValueError
            sources = entry.get("sources")
            keys[sha] = ApiKey(
                client=str(entry["client"]),
                sources=frozenset(str(s) for s in sources) if sources is not None else None,
                rate_per_second=float(entry.get("rate_per_second", DEFAULT_RATE_PER_SECOND)),
                burst=int(entry.get("burst", DEFAULT_BURST)),
            )
        except (KeyError, TypeError, ValueError):
            raise settings.ConfigError(f"{origin}: key {number} needs \"client\" and a 64-hex \"sha256\"; "
                                       "\"sources\" is a list, \"rate_per_second\" and \"burst\" numbers") from None
    return keys


def keys_file(data_dir: Path | None = None) -> Path:
    return (data_dir or settings.data_dir()).joinpath(*KEYS_FILE)


def load_keys(environ: Mapping[str, str] | None = None) -> dict[str, ApiKey]:
    env = os.environ if environ is None else environ
    if env.get("NARROWCAST_PROFILE_API_KEYS"):
        return parse_keys(env["NARROWCAST_PROFILE_API_KEYS"], "NARROWCAST_PROFILE_API_KEYS")
    path = Path(env["NARROWCAST_PROFILE_API_KEYS_FILE"]) if env.get("NARROWCAST_PROFILE_API_KEYS_FILE") \
        else keys_file()
    if not path.is_file():
        raise settings.ConfigError(f"no API keys: create {path} with `narrowcast serve new-api-key --client NAME` "
                                   "or set NARROWCAST_PROFILE_API_KEYS")
    return parse_keys(path.read_text(), str(path))


def key_entry(token: str, client: str, sources: list[str] | None, rate_per_second: float, burst: int) -> dict:
    """The keys-file entry for a new token (the token itself is not in it)."""
    entry: dict = {"client": client, "sha256": digest(token), "rate_per_second": rate_per_second, "burst": burst}
    if sources:
        entry["sources"] = sources
    return entry
