"""Start one ``narrowcast serve`` command in a child process for a benchmark, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

INCLUDE = Path(__file__).resolve().parents[1] / "include"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(command: str, env: dict[str, str], ready_status: int = 200) -> Iterator[int]:
    """``narrowcast serve <command>`` on a free port until the block ends; yields the port once it answers."""
    port = free_port()
    child_env = {**os.environ, **env, "PYTHONPATH": str(INCLUDE)}
    process = subprocess.Popen([sys.executable, "-m", "narrowcast.cli", "serve", command, "--port", str(port)],
                               env=child_env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    if answer.status == ready_status:
                        break
            except urllib.error.HTTPError as error:
                if error.code == ready_status:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"narrowcast serve {command} did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
