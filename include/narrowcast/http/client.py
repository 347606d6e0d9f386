"""HTTP client base: a ``requests.Session`` with timeouts, retries and error classification.

Retriable: 429, 5xx, connection errors and timeouts (exponential backoff with equal jitter, ``Retry-After``
honoured). Fatal: every other 4xx, raised at once with the API's own message. Each external service's module
in ``narrowcast.apis`` subclasses :class:`HttpClient` and overrides the small hooks (error message, retriable
check, retry wait) for its API; credentials come from an :class:`~narrowcast.http.auth.Auth`.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import requests
import urllib3

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.redaction import redact, redacting_logger
from narrowcast.http.auth import Auth
from narrowcast.http.bodies import error_objects
from narrowcast.http.rate_limit import TokenBucket

log = redacting_logger(__name__)
# urllib3 logs every request line at DEBUG, query string (and its tokens) included.
redacting_logger("urllib3.connectionpool")


class ApiError(Exception):
    """An API call failed; ``str()`` names the API, the request and the API's own message."""

    def __init__(self, api: str, method: str, url: str, status: int | None, message: str, body: Any = None):
        self.api = api
        self.method = method
        self.url = redact(url)
        self.status = status
        # The API's message can quote what it refused (an e-mail, a phone number, the token it did not accept).
        self.message = redact(message)
        self.body = body
        status_text = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{api}: {method} {urlsplit(self.url).path} failed ({status_text}): {self.message}")


class FatalApiError(ApiError):
    """Not worth retrying: bad request, auth failure, not found, validation error."""


class RetriableApiError(ApiError):
    """Retries were exhausted on a retriable failure (429, 5xx, timeout)."""


class OutcomeUnknownApiError(RetriableApiError):
    """A request that must not be sent twice was sent and no answer came (a read timeout, a connection dropped
    mid-answer): the API may or may not have acted on it. The caller finds out before trying again."""


def never_sent(exc: requests.RequestException) -> bool:
    """Whether a failed request certainly never reached the API: the connection was refused or timed out while
    being made. A read timeout or a connection dropped after sending leaves the outcome unknown."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the connection's own error
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    # Never wait longer than this for a single Retry-After, whatever the server says.
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Equal-jitter exponential backoff for the given (1-based) failed attempt: between half the capped
        exponential delay and all of it, so clients that failed together spread out yet never retry at once."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(cap / 2, cap)


def connection_options(conn: Connection) -> dict[str, Any]:
    """The timeout and retry policy a connection's extras ask for (``timeout_seconds``, ``max_attempts``,
    ``retry_base_delay``, ``retry_max_delay``), as :class:`HttpClient` keyword arguments.

    Every API client built from a connection, for a source or a destination, goes through here.
    """
    timeout = float(conn.extra.get("timeout_seconds", 60.0))
    return {
        "timeout": (min(5.0, timeout), timeout),
        "retry": RetryPolicy(
            max_attempts=int(conn.extra.get("max_attempts", 6)),
            base_delay=float(conn.extra.get("retry_base_delay", 0.5)),
            max_delay=float(conn.extra.get("retry_max_delay", 30.0)),
        ),
    }


class HttpClient:
    """Base client: each API sets ``api_name`` and overrides the hooks it needs.

    ``api_name`` names the API in every error; a caller may pass its own (a destination that shares an API
    with a source) so a failure says which of the two it was.
    """

    api_name = "api"
    # Where the API lives when a connection names no host (a shop's own URL has no such default).
    default_base_url = ""

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        api_name: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] = (5.0, 60.0),
        retry: RetryPolicy | None = None,
        rate_limiter: TokenBucket | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        if api_name:
            self.api_name = api_name
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        self.default_params = dict(params or {})
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.rate_limiter = rate_limiter
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.calls = 0  # HTTP requests actually sent, retries included
        self.retries = 0

    @classmethod
    def from_connection(cls, conn: Connection, **http: Any) -> Self:
        """A client for ``conn``: its base URL, what the API reads from a connection (auth, version) and the
        connection's timeout and retry policy; ``http`` overrides any of them and adds headers, a rate limiter,
        an ``api_name`` label."""
        settings = cls.connection_settings(conn)
        headers = {**settings.pop("headers", {}), **(http.pop("headers", None) or {})}
        return cls(cls.base_url_of(conn), headers=headers, **{**settings, **connection_options(conn), **http})

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        """Keyword arguments the API takes from a connection besides its URL and retry settings (auth, version)."""
        return {}

    @classmethod
    def base_url_of(cls, conn: Connection) -> str:
        """The connection's base URL, or the API's public one when the connection names no host."""
        if urlsplit(conn.base_url).netloc or not cls.default_base_url:
            return conn.base_url
        return cls.default_base_url

    # ---- hooks -------------------------------------------------------------------------------------
    def is_retriable(self, response: requests.Response) -> bool:
        return response.status_code == 429 or response.status_code >= 500

    def token_rejected(self, response: requests.Response) -> bool:
        """The API refused the access token itself (expired or revoked), so a renewed token may succeed."""
        return response.status_code == 401

    def is_throttled_answer(self, response: requests.Response) -> bool:
        """A successful status that is in fact a rate-limit refusal (GraphQL APIs answer 200 + ``THROTTLED``);
        retried like a 429, with :meth:`retry_after` as the wait."""
        return False

    def retry_after(self, response: requests.Response) -> float | None:
        """Seconds to wait as the server asked (``Retry-After`` as seconds or an HTTP date)."""
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            return max(0.0, parsed.timestamp() - time.time()) if parsed else None

    def error_message(self, response: requests.Response) -> str:
        """The API's own message: its error objects as :meth:`describe_error` reads them, else the body."""
        described = [line for e in error_objects(response) if (line := self.describe_error(e))]
        if described:
            return "; ".join(described)[:500]
        try:
            body = response.json()
        except ValueError:
            return (response.text or response.reason or "").strip()[:500]
        if isinstance(body, dict):
            for key in ("errors", "error", "message"):
                if key in body:
                    return str(body[key])[:500]
        return str(body)[:500]

    def describe_error(self, error: dict[str, Any]) -> str | None:
        """One error object of the body's ``errors`` list as a line; None (the default): the body is shown."""
        return None

    # ---- core --------------------------------------------------------------------------------------
    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: tuple[int, ...] = (),
        resend: bool = True,
    ) -> requests.Response:
        """Send one request, retrying retriable failures; returns the successful response.

        ``resend=False`` for a request that must not take effect twice (it starts something): a failure after
        which the API may have acted on it raises :class:`OutcomeUnknownApiError` instead of sending it again;
        a connection that was never made is still retried."""
        url = self.url(path_or_url)
        merged_params = {**self.default_params, **(params or {})} if not path_or_url.startswith("http") else params
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            if self.rate_limiter is not None:
                self.rate_limiter.acquire()
            self.calls += 1
            sent_params, sent_headers = merged_params, headers
            if self.auth is not None:
                # Asked on every attempt, so a token refreshed by the auth is used from the next request on.
                sent_headers = {**self.auth.headers(), **(headers or {})}
                auth_params = self.auth.params()
                if auth_params and not path_or_url.startswith("http"):
                    sent_params = {**auth_params, **(merged_params or {})}
            try:
                response = self.session.request(
                    method, url, params=sent_params, json=json, data=data, headers=sent_headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not resend and not never_sent(exc):
                    raise OutcomeUnknownApiError(
                        self.api_name, method, url, None,
                        f"{type(exc).__name__}: the request was sent and may have taken effect; not sent again",
                    ) from exc
                if attempt >= self.retry.max_attempts:
                    raise RetriableApiError(
                        self.api_name, method, url, None, f"{type(exc).__name__} after {attempt} attempts"
                    ) from exc
                self._wait(attempt, None, method, url, type(exc).__name__)
                continue
            answered = response.ok or response.status_code in ok_statuses
            if answered and not self.is_throttled_answer(response):
                return response
            if (not answered and not renewed and self.auth is not None and self.token_rejected(response)
                    and self.auth.renew()):
                # One fresh token and one more try: a token that expired in flight is routine, a second
                # rejection is not, and falls through to the fatal error below.
                renewed = True
                attempt -= 1
                log.info("%s: %s %s -> HTTP %d, access token renewed, retrying once", self.api_name, method,
                         urlsplit(redact(url)).path, response.status_code)
                continue
            message = self.error_message(response)
            if not answered and not self.is_retriable(response):
                raise FatalApiError(self.api_name, method, url, response.status_code, message, _body(response))
            if attempt >= self.retry.max_attempts:
                raise RetriableApiError(
                    self.api_name, method, url, response.status_code,
                    f"{message} (gave up after {attempt} attempts)", _body(response),
                )
            self._wait(attempt, self.retry_after(response), method, url, f"HTTP {response.status_code}")

    def _wait(self, attempt: int, retry_after: float | None, method: str, url: str, reason: str) -> None:
        delay = self.retry.backoff(attempt, self._rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry.max_retry_after))
        self.retries += 1
        log.info("%s: %s %s -> %s, retry %d in %.2fs", self.api_name, method, redact(urlsplit(url).path),
                 reason, attempt, delay)
        self._sleep(delay)

    def get_json(self, path_or_url: str, **kwargs: Any) -> Any:
        return self.request("GET", path_or_url, **kwargs).json()

    def post_json(self, path_or_url: str, body: Any, **kwargs: Any) -> Any:
        response = self.request("POST", path_or_url, json=body, **kwargs)
        return response.json() if response.content else None


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


class VersionedApi(HttpClient):
    """An API whose requests carry a dated version that a connection may pin; ``versions`` is the API's entry in
    ``narrowcast.apis.versions`` (its default, sunsets and the connection extra that names another)."""

    versions: ClassVar[Any]

    def __init__(self, base_url: str, *, api_version: str | None = None, **http: Any) -> None:
        super().__init__(base_url, **http)
        self.api_version = api_version or self.versions.default

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {**super().connection_settings(conn), "api_version": cls.versions.of_connection(conn)}
