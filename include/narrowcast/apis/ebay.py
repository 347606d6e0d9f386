"""eBay Sell APIs wire conventions, for the Fulfillment source and the Inventory destination.

Connection ``narrowcast_ebay``: ``base_url`` = ``https://api.ebay.com``, ``password`` = a user access token
with the scopes the caller needs (``sell.fulfillment``, ``sell.inventory``; sent as ``Authorization: Bearer``).
Each API's version is part of its path (below). Errors are ErrorDetailV3 (``{"errors": [{errorId, domain,
category, message, longMessage}]}``); pages by the ``next`` href in the body, which carries every parameter.

Digital signatures ("Digital Signatures for APIs", eBay developer guide): calls made for an EU- or UK-domiciled
seller to the Finances API (every method) and to Fulfillment ``issueRefund`` carry an HTTP message signature
(RFC 9421) made with a keypair from eBay's Key Management API (createSigningKey). Extras
``signing_key_jwe`` (the keypair's ``jwe``, sent as ``x-ebay-signature-key``) and ``signing_private_key`` (its
``privateKey``: base64 PKCS#8 as eBay returns it, or PEM; Ed25519 or RSA) turn signing on for those calls;
extra ``eu_uk_seller: true`` without them is refused when the client is built, since eBay would refuse every
call. Other calls go unsigned (eBay ignores signatures it does not require, but they cost a key operation).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, HttpClient, bearer_or_refresh
from narrowcast.http.pagination import NextHref

CONNECTION_ID = "narrowcast_ebay"
# User access tokens last two hours; the refresh grant must name scopes of the seller's original consent.
TOKEN_URL = "https://api.ebay.com/identity/v1/oauth2/token"
SCOPES = ("https://api.ebay.com/oauth/api_scope/sell.fulfillment "
          "https://api.ebay.com/oauth/api_scope/sell.inventory")
FULFILLMENT = f"sell/fulfillment/{versions.EBAY_FULFILLMENT.default}"
INVENTORY = f"sell/inventory/{versions.EBAY_INVENTORY.default}"
FINANCES = f"sell/finances/{versions.EBAY_FINANCES.default}"


def finances_base_url(conn: Connection) -> str:
    """The Finances API's base URL: extra ``finances_base_url``, else the connection's with eBay's ``apiz``
    host (the Finances API is served from apiz.ebay.com only, sell_finances_v1_oas3 ``servers``)."""
    explicit = conn.extra.get("finances_base_url")
    if explicit:
        return str(explicit)
    return (conn.base_url or "https://api.ebay.com").replace("://api.", "://apiz.", 1)
# An offer's state as getOffer reports it (Sell Inventory v1 contract, EbayOfferDetailsWithAll): ``status``
# PUBLISHED or UNPUBLISHED, and the live listing's ``listing.listingStatus``. Relisting and withdrawing are decided
# from this state; no errorId of the contract says "not published".
PUBLISHED = "PUBLISHED"
LIVE_LISTING_STATUSES = frozenset({"ACTIVE", "OUT_OF_STOCK"})


def is_live(offer: dict[str, Any]) -> bool:
    """True when a getOffer answer shows a published offer whose listing is live."""
    listing_status = (offer.get("listing") or {}).get("listingStatus")
    return offer.get("status") == PUBLISHED and (listing_status is None or listing_status in LIVE_LISTING_STATUSES)


# The calls the guide names as needing a signature ("APIs in scope"), as path fragments of their URLs.
SIGNED_PATHS = ("/sell/finances/", "/issue_refund")
# The covered components, in the guide's order: the body's digest first when there is a body.
SIGNED_COMPONENTS = ("x-ebay-signature-key", "@method", "@path", "@authority")
SIGNATURE_LABEL = "sig1"


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` of a request body, SHA-256 as the guide uses."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def signature_params(components: tuple[str, ...], created: int) -> str:
    """The ``@signature-params`` value (RFC 9421 §2.3), also the value of ``Signature-Input`` after the label."""
    return "(" + " ".join(f'"{name}"' for name in components) + f");created={created}"


def signature_base(components: tuple[str, ...], values: dict[str, str], created: int) -> bytes:
    """The signature base (RFC 9421 §2.5): one ``"name": value`` line per covered component, then the params."""
    lines = [f'"{name}": {values[name]}' for name in components]
    lines.append(f'"@signature-params": {signature_params(components, created)}')
    return "\n".join(lines).encode()


def component_values(method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
    """What each component covers for one request (RFC 9421 §2.2: ``@path`` without the query, ``@authority``
    the host with a non-default port)."""
    parts = urlsplit(url)
    lowered = {k.lower(): v for k, v in headers.items()}
    return {"@method": method.upper(), "@path": parts.path or "/", "@authority": parts.netloc.lower(),
            **{name: lowered[name] for name in ("x-ebay-signature-key", "content-digest") if name in lowered}}


def load_private_key(text: str) -> ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey:
    """createSigningKey's ``privateKey`` (base64 PKCS#8 DER) or the same key as PEM."""
    data = text.strip().encode()
    try:
        key = (serialization.load_pem_private_key(data, password=None) if data.startswith(b"-----BEGIN")
               else serialization.load_der_private_key(base64.b64decode(data), password=None))
    except ValueError as exc:
        raise ValueError("signing_private_key is not a PKCS#8 private key (base64 DER or PEM)") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError("signing_private_key must be an Ed25519 or RSA key, as createSigningKey makes them")
    return key


def sign(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey, base: bytes) -> bytes:
    """Ed25519 (RFC 9421 §3.3.6) or RSA with SHA-256 (PKCS#1 v1.5, §3.3.2), the two ciphers eBay issues keys for."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(base)
    return key.sign(base, padding.PKCS1v15(), hashes.SHA256())


class MessageSignature(requests.auth.AuthBase):
    """Signs the in-scope requests of a client (requests calls it on every prepared request, retries included,
    so each attempt carries a fresh ``created``)."""

    def __init__(self, jwe: str, private_key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.jwe, self._key, self._clock = jwe, private_key, clock

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = request.url or ""
        if not any(fragment in urlsplit(url).path for fragment in SIGNED_PATHS):
            return request
        body = request.body.encode() if isinstance(request.body, str) else request.body
        request.headers["x-ebay-signature-key"] = self.jwe
        components = SIGNED_COMPONENTS
        if body:
            request.headers["Content-Digest"] = content_digest(body)
            components = ("content-digest", *SIGNED_COMPONENTS)
        created = int(self._clock())
        base = signature_base(components, component_values(request.method or "GET", url, dict(request.headers)),
                              created)
        request.headers["Signature-Input"] = f"{SIGNATURE_LABEL}={signature_params(components, created)}"
        request.headers["Signature"] = f"{SIGNATURE_LABEL}=:{base64.b64encode(sign(self._key, base)).decode()}:"
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(jwe=***)"


@dataclass(frozen=True)
class SigningKey:
    jwe: str
    private_key: str = field(repr=False)  # a secret: never in a log line or an error


def signing_key(conn: Connection) -> SigningKey | None:
    """The connection's signing keypair; None when it has none and does not say the seller needs one."""
    jwe, private_key = conn.extra.get("signing_key_jwe"), conn.extra.get("signing_private_key")
    if jwe and private_key:
        return SigningKey(str(jwe), str(private_key))
    if jwe or private_key or _flag(conn.extra.get("eu_uk_seller")):
        raise ValueError(f"connection {conn.conn_id!r}: eBay requires signed Finances calls for EU/UK sellers; "
                         "set extras signing_key_jwe and signing_private_key (jwe and privateKey of a keypair "
                         "from the Key Management API's createSigningKey)")
    return None


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def list_pages(items_key: str) -> NextHref:
    """Pages of a list call whose items sit under ``items_key``; an empty page is the last."""
    return NextHref(href=("next",), items=(items_key,))


def auth(conn: Connection) -> Auth:
    return bearer_or_refresh(conn, what="the eBay user access token", token_url=TOKEN_URL, client_auth="basic",
                             default_scope=SCOPES, headers=lambda token: {"Authorization": f"Bearer {token}"})


class EbayApi(HttpClient):
    """eBay REST: the ErrorDetailV3 envelope as the error message."""

    api_name = "ebay"
    default_base_url = "https://api.ebay.com"

    def __init__(self, base_url: str, *, signature: MessageSignature | None = None, **http: Any) -> None:
        super().__init__(base_url, **http)
        if signature is not None:
            # requests applies a session's auth to every prepared request: the signature covers the final URL
            # and body of each attempt, after the bearer token header is in place.
            self.session.auth = signature

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        settings: dict[str, Any] = {"auth": auth(conn)}
        key = signing_key(conn)
        if key is not None:
            settings["signature"] = MessageSignature(key.jwe, load_private_key(key.private_key))
        return settings

    def describe_error(self, e: dict[str, Any]) -> str:
        return f"errorId {e.get('errorId')} ({e.get('domain')}/{e.get('category')}): {e.get('longMessage') or e.get('message')}"
