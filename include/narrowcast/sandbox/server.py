"""Run the sandbox: ``python -m narrowcast.sandbox.server --port 8765 --world data/world``.

Also usable from tests: :class:`SandboxServer` starts it in a background thread on a free port.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

import requests
import uvicorn

from narrowcast import settings
from narrowcast.local_ports import free_port, port_in_use, wait_until_up
from narrowcast.sandbox.framework import create_app
from narrowcast.sandbox.tokens import TokenPolicy


class SandboxServer:
    """The sandbox in a background thread (for tests and benchmarks)."""

    def __init__(self, world_dir: Path | None, host: str = "127.0.0.1", port: int | None = None,
                 only: list[str] | None = None, tokens: TokenPolicy | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.app = create_app(world_dir, only=only, tokens=tokens)
        config = uvicorn.Config(self.app, host=host, port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> SandboxServer:
        self._thread.start()
        wait_until_up(f"{self.url}/_sandbox/health")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def faults(self, api: str, **faults: float | bool) -> None:
        requests.put(f"{self.url}/_sandbox/faults/{api}", json=faults, timeout=5).raise_for_status()

    def stats(self, api: str) -> dict:
        return requests.get(f"{self.url}/_sandbox/stats/{api}", timeout=5).json()

    def tokens(self, **policy: object) -> dict:
        """Switch the token policy (``mode``, ``lifetime_seconds``, ``revoked``); forgets issued tokens."""
        answer = requests.put(f"{self.url}/_sandbox/tokens", json=policy, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def token_stats(self) -> dict:
        return requests.get(f"{self.url}/_sandbox/tokens", timeout=5).json()

    def received(self, api: str):
        return requests.get(f"{self.url}/_sandbox/received/{api}", timeout=30).json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the Narrowcast API sandbox on loopback.")
    parser.add_argument("--host", default=settings.SANDBOX_HOST)
    parser.add_argument("--port", type=int, default=settings.SANDBOX_PORT)
    parser.add_argument("--world", type=Path, default=None, help="generator output (default: $DATA_DIR/world)")
    parser.add_argument("--token-lifetime", type=float, default=None, metavar="SECONDS",
                        help="tokens mode: Amazon, eBay and Google accept only issued OAuth tokens, valid this long")
    args = parser.parse_args(argv)
    world = args.world or settings.paths().world
    if not world.is_dir():
        print(f"error: world directory {world} not found; run `narrowcast generate` first", file=sys.stderr)
        return 2
    if port_in_use(args.host, args.port):
        print(f"error: port {args.port} on {args.host} is already in use; stop the other process or pass "
              f"--port (and set NARROWCAST_SANDBOX_PORT)", file=sys.stderr)
        return 2
    tokens = TokenPolicy("tokens", args.token_lifetime) if args.token_lifetime else None
    uvicorn.run(create_app(world, tokens=tokens), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
