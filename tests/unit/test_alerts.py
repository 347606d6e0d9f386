"""Alerts: one JSON line per failure by default, webhook and SMTP through a connection, thresholds, no PII."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from narrowcast.alerts import (
    Alert,
    AlertError,
    check_quarantine_share,
    check_rejected_share,
    send_alert,
)
from narrowcast.contracts.connections import Connection


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_NARROWCAST_ALERTS", raising=False)
    return tmp_path


def alert_lines(data_dir: Path) -> list[dict]:
    path = data_dir / "logs" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class Recorder(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "auth": self.headers.get("Authorization"), "json": json.loads(body)})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler
    finally:
        server.shutdown()
        server.server_close()


def failing_task_context(exception: Exception) -> dict:
    """What Airflow hands a task's on_failure_callback (the parts the notifier reads)."""
    ti = SimpleNamespace(dag_id="activate_audiences", task_id="sync_meta", run_id="scheduled__2026-11-25T06:00:00+00:00",
                         try_number=3, max_tries=2, map_index=-1)
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id, "exception": exception,
            "dag": airflow_dag("activate_audiences")}


def airflow_dag(dag_id: str):
    from airflow.sdk import DAG

    return DAG(dag_id, schedule=None)


# ---- the Airflow notifier -----------------------------------------------------------------------------------


def test_a_failing_task_writes_exactly_one_alert_line_with_dag_task_run_and_reason(data_dir: Path):
    from narrowcast_airflow.notifiers import NarrowcastFailureNotifier

    # GIVEN no narrowcast_alerts connection; WHEN the failure callback fires for a failed task
    NarrowcastFailureNotifier()(failing_task_context(ValueError("Meta rejected the batch: token=abc123 for ann@shop.test")))

    # THEN one JSON line names DAG, task, run and reason, with the secret and the e-mail masked
    (line,) = alert_lines(data_dir)
    assert line["kind"] == "task_failure"
    assert (line["dag_id"], line["task_id"], line["run_id"]) == (
        "activate_audiences", "sync_meta", "scheduled__2026-11-25T06:00:00+00:00")
    assert line["reason"] == "ValueError: Meta rejected the batch: token=*** for <email>"
    assert line["details"] == {"try_number": 3, "max_tries": 2, "map_index": -1}
    assert "activate_audiences.sync_meta" in line["message"] and "abc123" not in json.dumps(line)


def test_a_dag_level_failure_callback_raises_a_dag_failure_alert(data_dir: Path):
    from narrowcast_airflow.notifiers import NarrowcastFailureNotifier

    run = SimpleNamespace(dag_id="transform", run_id="manual__1")
    NarrowcastFailureNotifier()({"dag_run": run, "dag": airflow_dag("transform"), "reason": "task_failure"})

    (line,) = alert_lines(data_dir)
    assert (line["kind"], line["dag_id"], line["task_id"], line["run_id"]) == ("dag_failure", "transform", None, "manual__1")
    assert line["reason"] == "task_failure"


def test_the_notifier_posts_to_the_webhook_named_by_the_airflow_connection(
    data_dir: Path, webhook: tuple[str, type[Recorder]], monkeypatch: pytest.MonkeyPatch
):
    from narrowcast_airflow.notifiers import NarrowcastFailureNotifier

    url, handler = webhook
    host_port = url.removeprefix("http://")
    monkeypatch.setenv(
        "AIRFLOW_CONN_NARROWCAST_ALERTS",
        json.dumps({"conn_type": "http", "host": host_port.split(":")[0], "port": int(host_port.split(":")[1]),
                    "password": "s3cret", "extra": {"endpoint": "/hooks/narrowcast"}}),
    )

    NarrowcastFailureNotifier()(failing_task_context(RuntimeError("boom")))

    (request,) = handler.received
    assert request["path"] == "/hooks/narrowcast"
    assert request["auth"] == "Bearer s3cret"
    assert request["json"]["task_id"] == "sync_meta" and request["json"]["reason"] == "RuntimeError: boom"
    assert alert_lines(data_dir) == []  # delivered to the webhook, not the file


# ---- sinks --------------------------------------------------------------------------------------------------


def test_without_a_connection_alerts_append_to_the_jsonl_file(data_dir: Path):
    for n in range(2):
        assert send_alert(Alert("extract_shop", "orders", f"run-{n}", "HTTP 401 from the shop", "task_failure")) == "file"

    assert [line["run_id"] for line in alert_lines(data_dir)] == ["run-0", "run-1"]


def test_a_file_connection_writes_where_its_extra_says(tmp_path: Path):
    target = tmp_path / "elsewhere" / "alerts.jsonl"
    conn = Connection("narrowcast_alerts", "", extra={"sink": "file", "path": str(target)})

    send_alert(Alert("transform", None, "r1", "dbt test failed", "dag_failure"), conn)

    assert json.loads(target.read_text())["kind"] == "dag_failure"


def test_a_webhook_answering_an_error_raises_naming_the_connection_not_its_secret(webhook: tuple[str, type[Recorder]]):
    url, handler = webhook
    handler.status = 400
    conn = Connection("narrowcast_alerts", f"{url}/services/T0/B0/pathsecret?token=zzz", password="s3cret")

    with pytest.raises(AlertError, match=r"connection 'narrowcast_alerts': webhook delivery failed \(HTTP 400\)") as excinfo:
        send_alert(Alert("d", "t", "r", "why", "task_failure"), conn)
    assert not any(secret in str(excinfo.value) for secret in ("s3cret", "zzz", "pathsecret"))


def test_an_unknown_sink_is_refused_with_the_allowed_ones(data_dir: Path):
    with pytest.raises(AlertError, match="'pager' is not one of file, webhook, smtp"):
        send_alert(Alert("d", "t", "r", "why"), Connection("narrowcast_alerts", "", extra={"sink": "pager"}))


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message (no AUTH, no TLS)."""

    messages: list[str] = []

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command == "DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode())
                type(self).messages.append("".join(body))
                self.wfile.write(b"250 queued\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_an_smtp_connection_mails_the_alert_to_its_recipients():
    handler = type("Handler", (_SmtpHandler,), {"messages": []})
    server = socketserver.TCPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = Connection("narrowcast_alerts", f"http://127.0.0.1:{server.server_address[1]}",
                          extra={"sink": "smtp", "to": "ops@shop.test", "from": "narrowcast@shop.test"})
        assert send_alert(Alert("transform", "dbt_run", "r9", "model failed"), conn) == "smtp"
    finally:
        server.shutdown()
        server.server_close()

    (message,) = handler.messages
    assert "Subject: [narrowcast] task_failure in transform.dbt_run" in message
    assert "To: ops@shop.test" in message and "model failed" in message


# ---- thresholds ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rejected", "alerted"),
    [
        pytest.param(5, False, id="5 of 100 rejected is at the 5% threshold: no alert"),
        pytest.param(6, True, id="6 of 100 rejected crosses the threshold: one alert"),
    ],
)
def test_a_sync_alerts_only_when_its_rejected_share_crosses_the_threshold(data_dir: Path, rejected: int, alerted: bool):
    alert = check_rejected_share(dag_id="activate_listings", task_id="sync_ebay", run_id="r1", sync_id="ebay_listings",
                                 sent=100, rejected=rejected, threshold=0.05,
                                 top_reasons={"Price below minimum": rejected - 1, "bad sku": 1})

    assert (alert is not None) is alerted
    lines = alert_lines(data_dir)
    assert len(lines) == int(alerted)
    if alerted:
        assert lines[0]["kind"] == "sync_rejections"
        assert "6 of 100 rows rejected (6.0% > threshold 5.0%)" in lines[0]["reason"]
        assert "Price below minimum (5)" in lines[0]["reason"]


def test_a_quality_gate_alerts_when_its_quarantine_share_crosses_the_threshold(data_dir: Path):
    alert = check_quarantine_share(dag_id="extract_shop", task_id="load_orders", run_id="r2", source="shop",
                                   entity="orders", batch_id="b-42", received=200, quarantined=30, threshold=0.05,
                                   top_rules={"total_price >= 0": 30})

    assert alert is not None
    (line,) = alert_lines(data_dir)
    assert line["kind"] == "quarantine" and line["details"]["batch_id"] == "b-42"
    assert "shop.orders batch b-42: 30 of 200 rows quarantined (15.0% > threshold 5.0%)" in line["reason"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("customer jane.doe+x@mail.example.org failed", "customer <email> failed", id="an e-mail address"),
        pytest.param("call +44 20 7946 0958 now", "call <phone> now", id="an international phone number"),
        pytest.param("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***", id="a bearer token"),
        pytest.param("GET /x?access_token=EAAB123&limit=5", "GET /x?access_token=***&limit=5", id="a token in a URL"),
        pytest.param('{"password": "hunter2"}', '{"password": "***"}', id="a password in JSON"),
        pytest.param("postgres://user:pw@db:5432/x", "postgres://***:***@db:5432/x", id="credentials in a URL"),
        pytest.param("order 1234567 on 2026-11-25 10:00", "order 1234567 on 2026-11-25 10:00", id="ids and dates stay"),
    ],
)
def test_alert_reasons_mask_pii_and_secrets_but_keep_ids_and_dates(text: str, expected: str):
    assert Alert(dag_id="extract_shop", task_id="load", run_id="r1", reason=text).reason == expected
