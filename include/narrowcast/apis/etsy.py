"""Etsy Open API v3 wire conventions, for the receipts source and the listing inventory destination.

Connection ``narrowcast_etsy``: ``base_url`` = ``https://openapi.etsy.com``, ``login`` = the app's keystring
(its OAuth client id), ``password`` = the app's shared secret, extras ``refresh_token`` (from the seller's
consent, scopes ``transactions_r listings_r listings_w``; optional ``transactions_w`` for tracking) and
``shop_id``. Every request sends ``x-api-key: <keystring>:<shared secret>`` (Etsy requires the shared secret
in the key header since 2025; "Request Standards") and ``Authorization: Bearer <user id>.<token>`` (the access
token as the token endpoint issues it already starts with the user id). Access tokens last one hour, so the
connection must carry a refresh token: a static token would not outlive one run.

Errors are ``{"error": "<message>"}`` (the base client shows it as is). Lists page by ``limit``/``offset``
and report ``count``. Rate limits ("Rate Limits" in Etsy's essentials): per second and per day for the app,
reported on every answer as ``x-limit-per-second``, ``x-remaining-this-second``, ``x-limit-per-day`` and
``x-remaining-today``; a refusal is 429 with ``retry-after`` in seconds. The client paces itself with a token
bucket of its own that follows the per-second limit each answer reports; a sync's own rate limit (the
engine's bucket) applies besides it, so Etsy's allowance never raises what a sync declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests
from urllib3 import encode_multipart_formdata

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.http import HttpClient, RefreshingAuth, TokenBucket
from narrowcast.http.auth import RefreshGrant
from narrowcast.http.pagination import FetchedPage, PageRequest

CONNECTION_ID = "narrowcast_etsy"
# The refresh-token grant of Etsy's OAuth 2 ("Authentication"): form grant_type, client_id (keystring), refresh_token.
TOKEN_URL = "https://api.etsy.com/v3/public/oauth/token"
APPLICATION = f"{versions.ETSY.default}/application"
# A new commercial app's default allowance ("Rate Limits"); the answers' x-limit-per-second replaces it.
DEFAULT_PER_SECOND = 10.0
# getShopReceipts accepts limit 1..100 (default 25).
MAX_LIMIT = 100


def shop_id(conn: Connection) -> str:
    """The connection's ``shop_id`` extra (Etsy's numeric shop id)."""
    value = str(conn.extra.get("shop_id") or "").strip()
    if not value.isdigit():
        raise ValueError(f"connection {conn.conn_id!r} needs extra shop_id (the numeric Etsy shop id), "
                         f"got {value or 'nothing'}")
    return value


def auth(conn: Connection) -> RefreshingAuth:
    """The refresh-token grant of the connection; every request carries the key header and the bearer token."""
    refresh_token = conn.extra.get("refresh_token")
    if not refresh_token or not conn.login or not conn.password:
        raise ValueError(f"connection {conn.conn_id!r} needs the app keystring (login), its shared secret "
                         "(password) and extra refresh_token: Etsy access tokens last one hour")
    api_key = f"{conn.login}:{conn.password}"
    # The refresh grant names the app by its keystring only ("Authentication"): the shared secret stays out of it.
    grant = RefreshGrant(conn.conn_id, str(conn.extra.get("token_url") or TOKEN_URL), conn.login, "",
                         str(refresh_token), "public")
    return RefreshingAuth(grant, headers=lambda token: {"x-api-key": api_key, "Authorization": f"Bearer {token}"})


def image_form(file_name: str, image: bytes, **fields: str) -> tuple[bytes, dict[str, str]]:
    """An uploadListingImage body: multipart/form-data with the file as ``image`` (the reference takes the file
    itself, not a URL) and ``fields`` such as ``rank``; returns (body, the Content-Type header naming its boundary)."""
    body, content_type = encode_multipart_formdata({**fields, "image": (file_name, image, "image/jpeg")})
    return body, {"Content-Type": content_type}


def amount(money: dict[str, Any] | None, where: str) -> tuple[Decimal | None, str | None]:
    """An Etsy Money object (``{amount, divisor, currency_code}``, amount in the currency's smallest unit) as
    (Decimal, currency); (None, None) when absent."""
    if not money:
        return None, None
    try:
        value = Decimal(int(money["amount"])) / Decimal(int(money.get("divisor") or 1))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {money!r} is not an Etsy Money object") from exc
    return value, money.get("currency_code")


def epoch_time(value: Any, where: str) -> datetime | None:
    """An Etsy unix timestamp (seconds) as a naive UTC datetime."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{where}: {value!r} is not a unix timestamp") from exc


@dataclass(frozen=True)
class OffsetPages:
    """``limit``/``offset`` pages with the total in ``count``. Each next offset steps back ``overlap`` rows, so
    rows that leave the filtered set between two pages (a receipt modified again mid-run) shift no unseen row
    past the cursor; the caller drops the rows it has seen."""

    items: str = "results"
    overlap: int = 0

    def next_request(self, page: FetchedPage, first: PageRequest) -> PageRequest | None:
        body = page.json()
        params = dict(page.request.params or {})
        offset, served = int(params.get("offset", 0)), len(body.get(self.items) or [])
        total = int(body.get("count") or 0)
        if served == 0 or offset + served >= total:
            return None
        return PageRequest(first.path_or_url, {**params, "offset": offset + max(1, served - self.overlap)})


class EtsyApi(HttpClient):
    """Etsy Open API v3: the key header, the pacing its rate-limit headers ask for."""

    api_name = "etsy"
    default_base_url = "https://openapi.etsy.com"

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, **http)
        self.app_pace = TokenBucket(DEFAULT_PER_SECOND, DEFAULT_PER_SECOND, sleep=self._sleep)
        self.remaining_today: int | None = None

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {"auth": auth(conn)}

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> requests.Response:
        self.app_pace.acquire()
        response = super().request(method, path_or_url, **kwargs)
        self.follow_limits(response)
        return response

    def retry_after(self, response: requests.Response) -> float | None:
        self.follow_limits(response)
        return super().retry_after(response)

    def follow_limits(self, response: requests.Response) -> None:
        """Pace by the per-second limit the answer reports and remember what is left of the day's."""
        per_second = _number(response.headers.get("x-limit-per-second"))
        if per_second and per_second > 0 and per_second != self.app_pace.rate:
            self.app_pace.set_rate(per_second)
        remaining = _number(response.headers.get("x-remaining-today"))
        if remaining is not None:
            self.remaining_today = int(remaining)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
