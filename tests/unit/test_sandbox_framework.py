"""The sandbox framework: fault switches per API prefix, admin endpoints, clear errors on bad settings."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient

from narrowcast.sandbox import framework
from narrowcast.sandbox.framework import Emulator, Faults, create_app


class EchoEmulator(Emulator):
    name = "echo"

    def routes(self, router: APIRouter) -> None:
        @router.post("/items")
        def add(item: dict):
            with self.lock:
                self.received.append(item)
            return {"ok": True}


def _app(monkeypatch):
    monkeypatch.setattr(framework, "discover_emulators", lambda: {"echo": EchoEmulator})
    return TestClient(create_app(None))


def test_destination_emulators_expose_what_they_received(monkeypatch):
    client = _app(monkeypatch)
    client.post("/echo/items", json={"sku": "A"})
    assert client.get("/_sandbox/received/echo").json() == [{"sku": "A"}]
    client.post("/_sandbox/reset")
    assert client.get("/_sandbox/received/echo").json() == []


def test_a_full_rate_limit_fault_answers_429_with_retry_after(monkeypatch):
    client = _app(monkeypatch)
    assert client.put("/_sandbox/faults/echo", json={"rate_limit_share": 1.0, "retry_after_seconds": 2}).status_code == 200
    response = client.post("/echo/items", json={})
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert client.get("/_sandbox/stats/echo").json()["faults_injected"] == {"rate_limit": 1}


def test_a_share_of_errors_is_injected_deterministically(monkeypatch):
    client = _app(monkeypatch)
    client.put("/_sandbox/faults/echo", json={"error_share": 0.2, "seed": 7})
    codes = [client.post("/echo/items", json={}).status_code for _ in range(200)]
    failures = codes.count(503)
    assert 20 <= failures <= 60
    client.put("/_sandbox/faults/echo", json={"error_share": 0.2, "seed": 7})
    again = [client.post("/echo/items", json={}).status_code for _ in range(200)]
    assert again == codes


def test_auth_failure_fault_answers_401(monkeypatch):
    client = _app(monkeypatch)
    client.put("/_sandbox/faults/all", json={"auth_failure": True})
    assert client.post("/echo/items", json={}).status_code == 401


def test_bad_fault_settings_are_refused_with_the_reason(monkeypatch):
    client = _app(monkeypatch)
    response = client.put("/_sandbox/faults/echo", json={"error_share": 3})
    assert response.status_code == 400 and "error_share must be between 0 and 1" in response.json()["error"]
    response = client.put("/_sandbox/faults/echo", json={"bogus": 1})
    assert response.status_code == 400 and "bogus" in response.json()["error"]
    assert client.get("/_sandbox/faults/nope").status_code == 404


def test_faults_parse_from_a_dict():
    assert Faults.from_dict({"latency_ms": 5}).latency_ms == 5


def test_the_server_reports_a_busy_port_in_one_line(tmp_path, capsys):
    import socket

    from narrowcast.sandbox.server import main

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert main(["--port", str(port), "--world", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"port {port}" in err and "already in use" in err
