"""Shopify webhook receiver: verifies each HTTPS delivery and lands it in the webhook inbox exactly once.

Shopify's delivery contract (https://shopify.dev/docs/apps/build/webhooks/delivery-structure,
https://shopify.dev/docs/apps/build/webhooks/verify-deliveries): a POST with a JSON body and the headers
``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body keyed with the app's client
secret), ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id`` (the same on every retry of
one delivery: the duplicate key), ``X-Shopify-Event-Id`` (one event, shared by the deliveries of several
subscriptions) and ``X-Shopify-Triggered-At``. Shopify waits 1 s for the connection and 5 s for the answer, counts
any 2xx as delivered and retries everything else (timeouts, 4xx, 5xx) 8 times over 4 hours, removing a
subscription created through the Admin API after 8 consecutive failures
(https://shopify.dev/docs/apps/build/webhooks/troubleshooting-webhooks). So the receiver answers in
milliseconds: it verifies, writes one small file and acknowledges; the real-time path reads the inbox later.

Answers: 200 landed; 200 duplicate (that webhook id already landed: acknowledged, not written again); 401 missing
or wrong HMAC; 400 a required header missing or unusable, a body that is not a JSON object, or a webhook older
than the replay window; 403 a shop that is not configured; 422 a topic not in the accepted list; 413 a body
over the size limit; 500 the file could not be written (Shopify retries, which is what should happen).

Replays: the signature covers the body only, not the headers, so an old delivery replayed with its original
headers is refused once ``X-Shopify-Triggered-At`` is older than ``max_age`` (default 48 h, far beyond Shopify's
4-hour retry schedule); within the window a replay of a landed webhook id is a duplicate. Deliveries arrive in
any order: each file keeps ``triggered_at`` so readers order by it, never by arrival.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from narrowcast import settings
from narrowcast.contracts.connections import Connection, connections_from_env
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.serve.webhook_inbox import Delivery, land, landed_path, shopify_inbox

log = redacting_logger(__name__)

CONNECTION_ID = "narrowcast_shopify"
PATH = "/webhooks/shopify"
DEFAULT_TOPICS = frozenset({"checkouts/create", "checkouts/update", "orders/create"})
# Order payloads with hundreds of line items stay well under this; anything bigger is not a Shopify webhook.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_AGE = timedelta(hours=48)
# A webhook id becomes a file name: Shopify sends UUIDs, so anything else (a slash, a leading dot) is refused.
_WEBHOOK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9.-]{0,254}")


class Refused(Exception):
    """A delivery that is not landed; ``status`` and ``error`` are what the sender is told."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class WebhookConfig:
    """What the receiver accepts and where it lands deliveries.

    ``secrets`` holds the app's client secret, and during a rotation the previous one too: Shopify may take up
    to an hour to sign with a new secret (verify-deliveries page).
    """

    secrets: tuple[str, ...] = field(repr=False)
    shop_domains: frozenset[str]
    inbox: Path
    topics: frozenset[str] = DEFAULT_TOPICS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_age: timedelta = DEFAULT_MAX_AGE
    future_tolerance: timedelta = timedelta(minutes=settings.FUTURE_TOLERANCE_MINUTES)

    def __post_init__(self) -> None:
        if not self.secrets or not all(self.secrets):
            raise settings.ConfigError("no Shopify webhook secret: set extra webhook_secret on the connection "
                                       f"{CONNECTION_ID} or NARROWCAST_SHOPIFY_WEBHOOK_SECRET")
        if not self.shop_domains:
            raise settings.ConfigError("no shop domain to accept webhooks from: set extra shop_domain on the "
                                       f"connection {CONNECTION_ID} or NARROWCAST_SHOPIFY_SHOP_DOMAINS")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookConfig:
        """From the ``narrowcast_shopify`` connection (extras ``webhook_secret``, ``previous_webhook_secret``,
        ``shop_domain``) with ``NARROWCAST_SHOPIFY_*`` / ``NARROWCAST_WEBHOOK_*`` variables taking precedence."""
        env = os.environ if environ is None else environ
        conn = connections_from_env(env).get(CONNECTION_ID)
        extra = conn.extra if conn else {}
        current = env.get("NARROWCAST_SHOPIFY_WEBHOOK_SECRET") or extra.get("webhook_secret") or ""
        previous = env.get("NARROWCAST_SHOPIFY_PREVIOUS_WEBHOOK_SECRET") or extra.get("previous_webhook_secret")
        topics = _names(env.get("NARROWCAST_WEBHOOK_TOPICS", "")) or DEFAULT_TOPICS
        return cls(
            secrets=tuple(s for s in (current, previous) if s),
            shop_domains=_names(env.get("NARROWCAST_SHOPIFY_SHOP_DOMAINS", "")) or _connection_shops(conn),
            inbox=shopify_inbox(),
            topics=topics,
            max_body_bytes=settings.env_int("NARROWCAST_WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            max_age=timedelta(hours=settings.env_float("NARROWCAST_WEBHOOK_MAX_AGE_HOURS", 48.0)),
        )


def _names(raw: str) -> frozenset[str]:
    return frozenset(name.strip().lower() for name in raw.split(",") if name.strip())


def _connection_shops(conn: Connection | None) -> frozenset[str]:
    if conn is None:
        return frozenset()
    if conn.extra.get("shop_domain"):
        return _names(str(conn.extra["shop_domain"]))
    host = (urlsplit(conn.base_url).hostname or "").lower()
    return frozenset({host}) if host.endswith(".myshopify.com") else frozenset()


def signature(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_signature(secrets: Iterable[str], body: bytes, header: str | None) -> bool:
    """True when ``header`` is the HMAC of ``body`` under one of ``secrets``, compared in constant time."""
    if not header:
        return False
    try:
        claimed = base64.b64decode(header, validate=True)
    except ValueError:
        return False
    matched = False
    # Every secret is tried, so the time taken does not tell which one matched.
    for secret in secrets:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        matched |= hmac.compare_digest(digest, claimed)
    return matched


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise Refused(400, f"missing_header:{name}")
    return value


def _triggered_at(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Refused(400, "bad_header:x-shopify-triggered-at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check(config: WebhookConfig, headers: Mapping[str, str], body: bytes, now: datetime) -> Delivery:
    """The delivery ``headers`` + ``body`` describe, or :class:`Refused` saying why it is not landed.

    The signature is checked first, so an unsigned request learns nothing about what else would be refused.
    """
    if not verify_signature(config.secrets, body, headers.get("x-shopify-hmac-sha256")):
        raise Refused(401, "bad_hmac")
    shop = _header(headers, "x-shopify-shop-domain").lower()
    if not _SHOP_DOMAIN.fullmatch(shop) or shop not in config.shop_domains:
        raise Refused(403, "unknown_shop")
    topic = _header(headers, "x-shopify-topic")
    if topic not in config.topics:
        raise Refused(422, "unsupported_topic")
    webhook_id = _header(headers, "x-shopify-webhook-id")
    if not _WEBHOOK_ID.fullmatch(webhook_id):
        raise Refused(400, "bad_header:x-shopify-webhook-id")
    triggered_raw = _header(headers, "x-shopify-triggered-at")
    triggered = _triggered_at(triggered_raw)
    if triggered > now + config.future_tolerance:
        raise Refused(400, "triggered_in_future")
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "malformed_json") from None
    if not isinstance(payload, dict):
        raise Refused(400, "malformed_json")
    # Age last: a webhook that already landed is acknowledged as a duplicate whatever its age.
    if triggered < now - config.max_age and not landed_path(config.inbox, topic, webhook_id).exists():
        raise Refused(400, "stale_webhook")
    return Delivery(topic, shop, webhook_id, triggered_raw, body)


def _reject_constant(name: str) -> None:
    # NaN and Infinity are Python's extensions, not JSON.
    raise ValueError(name)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, "body_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def webhook_app(config: WebhookConfig, clock: Callable[[], datetime] = _utc_now) -> Starlette:
    """The receiver as an ASGI app: ``POST /webhooks/shopify`` and ``GET /healthz``."""

    async def receive(request: Request) -> JSONResponse:
        now = clock()
        try:
            body = await _body(request, config.max_body_bytes)
            delivery = check(config, request.headers, body, now)
        except Refused as refusal:
            log.warning("shopify webhook refused (%s): %s", refusal.status, refusal.error)
            return JSONResponse({"error": refusal.error}, status_code=refusal.status)
        received_at = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
        landed = await run_in_threadpool(land, config.inbox, delivery, received_at)
        if not landed:
            log.debug("shopify webhook %s %s already landed: acknowledged", delivery.topic, delivery.webhook_id)
        return JSONResponse({"landed": landed, "duplicate": not landed})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "topics": sorted(config.topics)})

    return Starlette(routes=[Route(PATH, receive, methods=["POST"]), Route("/healthz", health, methods=["GET"])])

