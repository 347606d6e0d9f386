"""Profile read API for headless shops: ``GET /profiles/{customer_key}`` with a bearer API key.

Answers one customer's segment (RFM and behavioural segments), scores, top recommendations and the discount code
active now, from the memory-mapped :mod:`profile snapshot <narrowcast.serve.profile_snapshot>`, so serving never
opens the warehouse. Answers: 200 the profile; 401 no or unknown key (``WWW-Authenticate: Bearer``); 429 over the
key's rate (``Retry-After``); 404 a customer the snapshot does not hold *or* one the key may not see, the two
indistinguishable, so a key restricted to some sources cannot learn who else exists; 503 no snapshot yet.
Rate limits live in this process: run one server process per limit (uvicorn ``--workers 1``, the default here).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from narrowcast.serve.api_keys import ApiKey, digest
from narrowcast.serve.profile_snapshot import Found, SnapshotHolder, utc_text
from narrowcast.serve.token_bucket import TokenBucket, retry_after_header

PATH = "/profiles/{customer_key:path}"
NO_SNAPSHOT_RETRY_SECONDS = 60
_NOT_FOUND = b'{"error":"not_found"}'
_PRIVATE = {"Cache-Control": "private, no-store"}


def active_discount(found: Found, now: str) -> bytes:
    """The JSON of the code active at ``now`` (most recently started first, as exported), or ``null``."""
    if found.discounts is None:
        return b"null"
    for code in json.loads(found.discounts):
        if code["starts_at"] is not None and code["starts_at"] > now:
            continue
        if code["expires_at"] is None or code["expires_at"] > now:
            return json.dumps(code, separators=(",", ":")).encode()
    return b"null"


def profile_app(keys: Mapping[str, ApiKey], snapshots: SnapshotHolder,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                monotonic: Callable[[], float] = time.monotonic) -> Starlette:
    """The API as an ASGI app over ``keys`` (by SHA-256 of the token) and the snapshot ``snapshots`` serves."""
    buckets = {sha: TokenBucket(key.rate_per_second, key.burst, monotonic) for sha, key in keys.items()}

    async def profile(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        sha = digest(token.strip()) if scheme.lower() == "bearer" else ""
        key = keys.get(sha)
        if key is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        wait = buckets[sha].take()
        if wait:
            return JSONResponse({"error": "rate_limited"}, status_code=429,
                                headers={"Retry-After": retry_after_header(wait)})
        snapshot = snapshots.current()
        if snapshot is None:
            return JSONResponse({"error": "no_snapshot"}, status_code=503,
                                headers={"Retry-After": str(NO_SNAPSHOT_RETRY_SECONDS)})
        found = snapshot.lookup(request.path_params["customer_key"])
        if found is None or (key.sources is not None and not any(found.known_to(s) for s in key.sources)):
            return Response(_NOT_FOUND, status_code=404, media_type="application/json", headers=_PRIVATE)
        body = found.profile[:-1] + b',"discount":' + active_discount(found, utc_text(clock())) + b"}"
        return Response(body, media_type="application/json", headers=_PRIVATE)

    async def health(_: Request) -> JSONResponse:
        snapshot = snapshots.current()
        if snapshot is None:
            return JSONResponse({"status": "no_snapshot"}, status_code=503)
        return JSONResponse({"status": "ok", "snapshot_loaded_at": utc_text(datetime.fromtimestamp(
            snapshot.loaded_at, UTC))})

    return Starlette(routes=[Route(PATH, profile, methods=["GET"]), Route("/healthz", health, methods=["GET"])])
