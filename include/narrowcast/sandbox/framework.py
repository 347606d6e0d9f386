"""Sandbox framework: one FastAPI process hosting every emulator under its own path prefix.

Each emulator is a module in ``narrowcast.sandbox.emulators`` exposing ``EMULATOR`` (an :class:`Emulator`
subclass); emulators check their API's auth header themselves, inside their routes. Faults are switchable per
API prefix at run time (``PUT /_sandbox/faults/{api}``): a share of requests
answered with the API's rate-limit error (+ ``Retry-After``), a share of 5xx, a share of slow answers that
exceed a client timeout, added latency, forced auth failures. Destination emulators record what they received
(``GET /_sandbox/received/{emulator name}``) so tests can assert on it.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import pkgutil
import random
import threading
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.local_credentials import LOCAL_API_TOKEN as SANDBOX_TOKEN  # noqa: F401  (for emulators)
from narrowcast.sandbox.tokens import AccessTokens, TokenPolicy

log = logging.getLogger(__name__)



@dataclass
class Faults:
    """Fault switches for one API. Shares are probabilities in [0, 1], drawn from a seeded RNG."""

    rate_limit_share: float = 0.0
    retry_after_seconds: float = 1.0
    error_share: float = 0.0
    timeout_share: float = 0.0
    timeout_seconds: float = 3.0
    latency_ms: float = 0.0
    auth_failure: bool = False
    seed: int = 0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Faults:
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        faults = cls(**raw)
        for name in ("rate_limit_share", "error_share", "timeout_share"):
            value = getattr(faults, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        return faults


@dataclass
class ApiState:
    faults: Faults = field(default_factory=Faults)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    requests: int = 0
    faults_injected: dict[str, int] = field(default_factory=dict)


class Emulator:
    """Base class of one emulated API surface.

    ``name`` is unique per emulator (used by ``/_sandbox/received/{name}``); ``prefix`` is the API host it
    belongs to, mounted at ``/{prefix}`` (defaults to ``name``). Several emulators may share a prefix — e.g. the
    Meta Insights source and the Meta Custom Audiences destination both live under ``/meta`` — and then share
    one fault switch; the first one (by name) answers injected faults with its error envelope.
    """

    name: str = "api"
    prefix: str = ""

    def __init__(self, world_dir: Path | None) -> None:
        self.world_dir = world_dir
        self.lock = threading.RLock()
        self.received: list[dict[str, Any]] = []  # destination emulators append what they accepted
        self.load()

    # ---- to implement -------------------------------------------------------------------------------
    def routes(self, router: APIRouter) -> None:
        raise NotImplementedError

    def load(self) -> None:
        """Build the emulator's state from the world; called at the end of ``__init__`` and by :meth:`reset`.

        Subclasses that keep their own attributes set them before calling ``super().__init__``.
        """

    def reset(self) -> None:
        """Forget received data and reload from the world (called by ``POST /_sandbox/reset``)."""
        with self.lock:
            self.received.clear()
            self.load()

    def close(self) -> None:
        """Free what the emulator holds outside its process's memory (called when the sandbox app shuts down)."""

    def snapshot(self) -> Any:
        """What the destination holds now, for assertions (default: everything received)."""
        return self.received

    # ---- error shapes (override to speak the API's own envelope) -------------------------------------
    def rate_limited(self, retry_after: float) -> Response:
        return JSONResponse({"errors": "Too many requests"}, status_code=429,
                            headers={"Retry-After": _seconds(retry_after)})

    def server_error(self) -> Response:
        return JSONResponse({"errors": "Internal server error"}, status_code=503)

    def unauthorized(self) -> Response:
        return JSONResponse({"errors": "Invalid API key or access token"}, status_code=401)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def discover_emulators() -> dict[str, type[Emulator]]:
    """Every ``EMULATOR`` class in ``narrowcast.sandbox.emulators``, by API name."""
    from narrowcast.sandbox import emulators

    found: dict[str, type[Emulator]] = {}
    for info in pkgutil.iter_modules(emulators.__path__):
        module = importlib.import_module(f"{emulators.__name__}.{info.name}")
        cls = getattr(module, "EMULATOR", None)
        if cls is not None:
            found[cls.name] = cls
    return dict(sorted(found.items()))


def create_app(world_dir: Path | None, only: list[str] | None = None, tokens: TokenPolicy | None = None) -> FastAPI:
    """The sandbox application: every emulator mounted at ``/{name}``, plus ``/_sandbox`` admin routes;
    ``tokens`` sets which access tokens the emulators accept (``narrowcast.sandbox.tokens``)."""
    instances: dict[str, Emulator] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        for emulator in instances.values():
            emulator.close()

    app = FastAPI(title="Narrowcast sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json",
                  lifespan=lifespan)
    states: dict[str, ApiState] = {}  # per prefix (API host)
    front: dict[str, Emulator] = {}  # the emulator answering injected faults for a prefix
    for name, cls in discover_emulators().items():
        prefix = cls.prefix or name
        if only and name not in only and prefix not in only:
            continue
        emulator = cls(world_dir)
        router = APIRouter()
        emulator.routes(router)
        app.include_router(router, prefix=f"/{prefix}")
        instances[name] = emulator
        states.setdefault(prefix, ApiState())
        front.setdefault(prefix, emulator)
    app.state.emulators = instances
    app.state.access_tokens = AccessTokens(tokens or TokenPolicy())
    app.state.api_states = states

    @app.middleware("http")
    async def inject_faults(request: Request, call_next):
        parts = request.url.path.strip("/").split("/", 1)
        prefix = parts[0] if parts else ""
        if prefix not in states:
            return await call_next(request)
        emulator, state = front[prefix], states[prefix]
        faults = state.faults
        with emulator.lock:
            state.requests += 1
            draw = state.rng.random()
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.auth_failure:
            return _count(state, "auth", emulator.unauthorized())
        if draw < faults.rate_limit_share:
            return _count(state, "rate_limit", emulator.rate_limited(faults.retry_after_seconds))
        draw -= faults.rate_limit_share
        if draw < faults.error_share:
            return _count(state, "server_error", emulator.server_error())
        draw -= faults.error_share
        if draw < faults.timeout_share:
            await asyncio.sleep(faults.timeout_seconds)
            return _count(state, "timeout", emulator.server_error())
        return await call_next(request)

    @app.get("/_sandbox/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "apis": sorted(states), "emulators": sorted(instances)}

    @app.get("/_sandbox/faults/{api}")
    def get_faults(api: str) -> Response:
        if api not in states:
            return _unknown(api, states)
        return JSONResponse(asdict(states[api].faults))

    @app.put("/_sandbox/faults/{api}")
    async def put_faults(api: str, request: Request) -> Response:
        targets = list(states) if api == "all" else [api]
        if api != "all" and api not in states:
            return _unknown(api, states)
        try:
            faults = Faults.from_dict(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        for target in targets:
            states[target].faults = faults
            states[target].rng = random.Random(f"{faults.seed}:{target}")
        return JSONResponse(asdict(faults))

    @app.get("/_sandbox/stats/{api}")
    def stats(api: str) -> Response:
        if api not in states:
            return _unknown(api, states)
        state = states[api]
        return JSONResponse({"requests": state.requests, "faults_injected": state.faults_injected})

    @app.get("/_sandbox/received/{api}")
    def received(api: str) -> Response:
        if api not in instances:
            return _unknown(api, instances)
        emulator = instances[api]
        with emulator.lock:
            body = json.dumps(emulator.snapshot(), default=str)
        return Response(body, media_type="application/json")

    @app.get("/_sandbox/tokens")
    def get_tokens() -> dict[str, Any]:
        return app.state.access_tokens.stats()

    @app.put("/_sandbox/tokens")
    async def put_tokens(request: Request) -> Response:
        try:
            policy = TokenPolicy.from_dict(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        app.state.access_tokens.reset(policy)
        return JSONResponse(app.state.access_tokens.stats())

    @app.post("/_sandbox/reset")
    def reset() -> dict[str, Any]:
        for emulator in instances.values():
            emulator.reset()
        for prefix in states:
            states[prefix] = ApiState()
        app.state.access_tokens.reset()
        return {"status": "reset"}

    return app


def _count(state: ApiState, kind: str, response: Response) -> Response:
    state.faults_injected[kind] = state.faults_injected.get(kind, 0) + 1
    return response


def _unknown(api: str, known: dict[str, Any]) -> Response:
    return JSONResponse({"error": f"unknown api {api!r}; known: {sorted(known)}"}, status_code=404)
