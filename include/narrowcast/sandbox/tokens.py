"""Which access tokens the sandbox accepts: the fixed local token, and the OAuth access tokens it issued.

The OAuth emulator (``emulators/oauth.py``) issues tokens; the Amazon, eBay and Google emulators ask
:func:`accepts` about the token a request carries. In ``static`` mode (the default) the fixed local token keeps
working, as a static token does against the real services. In ``tokens`` mode those three APIs accept only
tokens the sandbox issued and that have not expired (``lifetime_seconds``, e.g. 2 s in tests), so a client must
refresh mid-run exactly as it must against Login with Amazon, eBay and Google. ``revoked`` makes the token
endpoints refuse the refresh token, as after a seller withdraws consent.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.requests import Request

from narrowcast.local_credentials import LOCAL_API_TOKEN

# The vendors whose access tokens expire within hours, each with the lifetime it documents (seconds).
VENDOR_LIFETIMES = {"amazon": 3600.0, "ebay": 7200.0, "google": 3599.0, "etsy": 3600.0}
MODES = ("static", "tokens")


@dataclass
class TokenPolicy:
    mode: str = "static"
    lifetime_seconds: float | None = None  # None: each vendor's own lifetime
    revoked: bool = False

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TokenPolicy:
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown token settings: {sorted(unknown)}")
        policy = cls(**raw)
        if policy.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {policy.mode!r}")
        if policy.lifetime_seconds is not None and policy.lifetime_seconds <= 0:
            raise ValueError("lifetime_seconds must be positive")
        return policy


@dataclass
class AccessTokens:
    """Tokens issued per vendor with their expiry (``time.monotonic``), and counts for tests to assert on."""

    policy: TokenPolicy = field(default_factory=TokenPolicy)
    issued: dict[str, tuple[str, float]] = field(default_factory=dict)
    grants: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, vendor: str, prefix: str) -> tuple[str, int]:
        """A new access token for ``vendor`` and its lifetime in whole seconds (as ``expires_in``)."""
        lifetime = self.policy.lifetime_seconds or VENDOR_LIFETIMES[vendor]
        token = f"{prefix}{secrets.token_urlsafe(24)}"
        with self.lock:
            self.issued[token] = (vendor, time.monotonic() + lifetime)
            self.grants[vendor] = self.grants.get(vendor, 0) + 1
        return token, max(1, round(lifetime))

    def accepts(self, vendor: str, token: str | None) -> bool:
        if token == LOCAL_API_TOKEN and self.policy.mode == "static":
            return True
        with self.lock:
            held = self.issued.get(token or "")
            ok = held is not None and held[0] == vendor and time.monotonic() < held[1]
            if not ok:
                self.rejected[vendor] = self.rejected.get(vendor, 0) + 1
        return ok

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {**asdict(self.policy), "grants": dict(self.grants), "rejected": dict(self.rejected)}

    def reset(self, policy: TokenPolicy | None = None) -> None:
        with self.lock:
            self.policy = policy or self.policy
            self.issued.clear()
            self.grants.clear()
            self.rejected.clear()


def accepts(request: Request, vendor: str, token: str | None) -> bool:
    """Whether the sandbox serving ``request`` accepts ``token`` as ``vendor``'s access token."""
    tokens: AccessTokens | None = getattr(request.app.state, "access_tokens", None)
    if tokens is None:
        return token == LOCAL_API_TOKEN
    return tokens.accepts(vendor, token)


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None
