"""Loopback port helpers for the local runtime: is a port taken, find a free one, wait for a server."""

from __future__ import annotations

import errno
import socket
import subprocess
import time

import requests


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_up(health_url: str, timeout: float = 30.0, server: subprocess.Popen | None = None) -> None:
    """Poll ``health_url`` until it answers 2xx; ``TimeoutError`` naming the URL otherwise.

    With ``server``, a server process that exits while starting fails at once (``RuntimeError``) instead of
    after the whole timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the server for {health_url} exited with {server.returncode} before answering")
        try:
            if requests.get(health_url, timeout=2).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{health_url} did not answer within {timeout:.0f}s")
        time.sleep(0.1)
