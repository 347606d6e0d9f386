"""Alerts: what went wrong (DAG, task, run, reason) and where to send it (file, webhook or SMTP).

The sink comes from a :class:`~narrowcast.contracts.connections.Connection` (Airflow connection ``narrowcast_alerts``
when the DAG layer finds one); without one, alerts are appended as JSON lines to ``settings.paths().alerts``.
Connection shapes:

- file: ``extra = {"sink": "file", "path": "/var/log/narrowcast/alerts.jsonl"}`` (path optional)
- webhook: ``base_url`` = the URL to POST the alert JSON to (``extra.sink`` = ``"webhook"``, the default when a
  URL is set); ``password``, if any, is sent as a Bearer token
- SMTP: ``extra = {"sink": "smtp", "to": "a@x.org,b@x.org", "from": "narrowcast@x.org", "starttls": true}``,
  host/port from ``base_url``, ``login``/``password`` for AUTH

Reasons are redacted (:mod:`narrowcast.contracts.redaction`) before they leave the process.
"""

from __future__ import annotations

import datetime as dt
import json
import smtplib
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from narrowcast import settings
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.redaction import redact, redacting_logger
from narrowcast.http import ApiError, HttpClient, RetryPolicy

log = redacting_logger(__name__)

KINDS = ("task_failure", "dag_failure", "sync_rejections", "quarantine", "missing_export")
SINKS = ("file", "webhook", "smtp")
MAX_REASON_CHARS = 1000

class AlertError(RuntimeError):
    """An alert could not be delivered; the message names the sink and connection, never its secrets."""


@dataclass(frozen=True)
class Alert:
    """One alert: where it happened (DAG, task, run), why, and what kind of problem it is."""

    dag_id: str
    task_id: str | None
    run_id: str | None
    reason: str
    kind: str = "task_failure"
    severity: str = "error"
    details: dict[str, Any] = field(default_factory=dict)
    raised_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Alert kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.dag_id:
            raise ValueError("Alert needs a dag_id (use the caller's name, e.g. 'cli', outside Airflow)")
        # Frozen dataclass: set the redacted, bounded reason through object.__setattr__.
        object.__setattr__(self, "reason", redact(str(self.reason))[:MAX_REASON_CHARS])

    @property
    def subject(self) -> str:
        where = ".".join(part for part in (self.dag_id, self.task_id) if part)
        return f"[narrowcast] {self.kind} in {where}"

    def text(self) -> str:
        """A one-paragraph human message naming DAG, task, run and reason."""
        return (
            f"{self.subject}: {self.reason} "
            f"(dag={self.dag_id}, task={self.task_id or '-'}, run={self.run_id or '-'}, at {self.raised_at})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.text()}


def _sink(conn: Connection | None) -> str:
    if conn is None:
        return "file"
    sink = str(conn.extra.get("sink") or ("webhook" if urlsplit(conn.base_url).hostname else "file"))
    if sink not in SINKS:
        raise AlertError(f"connection {conn.conn_id!r}: extra 'sink'={sink!r} is not one of {', '.join(SINKS)}")
    return sink


def send_alert(alert: Alert, conn: Connection | None = None) -> str:
    """Deliver ``alert`` through the sink ``conn`` names (file when ``None``); returns the sink used."""
    sink = _sink(conn)
    if sink == "file":
        path = Path(conn.extra["path"]) if conn is not None and conn.extra.get("path") else settings.paths().alerts
        _write_line(alert, path)
    elif sink == "webhook":
        assert conn is not None
        _post_webhook(alert, conn)
    else:
        assert conn is not None
        _send_mail(alert, conn)
    log.warning("alert sent (%s): %s", sink, alert.text())
    return sink


def _write_line(alert: Alert, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(alert.to_dict(), sort_keys=True, default=str)
    # One write call per line so concurrent tasks appending to the same file don't interleave.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class _WebhookClient(HttpClient):
    api_name = "alert webhook"


def _post_webhook(alert: Alert, conn: Connection) -> None:
    headers = {"Content-Type": "application/json"}
    if conn.password:
        headers["Authorization"] = f"Bearer {conn.password}"
    client = _WebhookClient(conn.base_url, headers=headers, timeout=(5.0, 15.0), retry=RetryPolicy(max_attempts=3))
    try:
        client.request("POST", conn.base_url, json=alert.to_dict())
    except ApiError as exc:
        # Never echo the URL: webhook URLs (Slack, Teams) carry their secret in the path. The message is
        # already redacted by ApiError.
        status = f"HTTP {exc.status}" if exc.status is not None else "no response"
        raise AlertError(
            f"connection {conn.conn_id!r}: webhook delivery failed ({status}): {exc.message[:300]}"
        ) from exc
    except requests.RequestException as exc:
        raise AlertError(f"connection {conn.conn_id!r}: webhook delivery failed: {type(exc).__name__}") from exc


def _send_mail(alert: Alert, conn: Connection) -> None:
    recipients = [a.strip() for a in str(conn.require("to")).split(",") if a.strip()]
    parts = urlsplit(conn.base_url)
    if not parts.hostname:
        raise AlertError(f"connection {conn.conn_id!r}: SMTP sink needs a host")
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = str(conn.extra.get("from") or conn.login or "narrowcast@localhost")
    message["To"] = ", ".join(recipients)
    message.set_content(alert.text() + "\n\n" + json.dumps(alert.to_dict(), indent=2, sort_keys=True, default=str))
    try:
        with smtplib.SMTP(parts.hostname, parts.port or 25, timeout=15) as smtp:
            if str(conn.extra.get("starttls", "")).lower() in ("1", "true", "yes"):
                smtp.starttls()
            if conn.login and conn.password:
                smtp.login(conn.login, conn.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise AlertError(f"connection {conn.conn_id!r}: SMTP delivery failed: {type(exc).__name__}: {redact(str(exc))}") from exc


# ---- threshold helpers the engine, the quality gate and the DAGs call ------------------------------------


def check_rejected_share(
    *,
    dag_id: str,
    task_id: str | None,
    run_id: str | None,
    sync_id: str,
    sent: int,
    rejected: int,
    threshold: float | None = None,
    top_reasons: dict[str, int] | None = None,
    conn: Connection | None = None,
) -> Alert | None:
    """Send a ``sync_rejections`` alert when ``rejected / sent`` exceeds the threshold; return it (or ``None``)."""
    limit = settings.REJECTED_THRESHOLD if threshold is None else threshold
    if sent <= 0 or rejected / sent <= limit:
        return None
    reasons = "; ".join(f"{reason} ({n})" for reason, n in sorted((top_reasons or {}).items(), key=lambda kv: -kv[1])[:3])
    alert = Alert(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        kind="sync_rejections",
        reason=(
            f"sync {sync_id}: {rejected} of {sent} rows rejected ({rejected / sent:.1%} > threshold {limit:.1%})"
            + (f"; top reasons: {reasons}" if reasons else "")
        ),
        details={"sync_id": sync_id, "sent": sent, "rejected": rejected, "threshold": limit},
    )
    send_alert(alert, conn)
    return alert


def check_quarantine_share(
    *,
    dag_id: str,
    task_id: str | None,
    run_id: str | None,
    source: str,
    entity: str,
    batch_id: str,
    received: int,
    quarantined: int,
    threshold: float | None = None,
    top_rules: dict[str, int] | None = None,
    conn: Connection | None = None,
) -> Alert | None:
    """Send a ``quarantine`` alert when ``quarantined / received`` exceeds the threshold; return it (or ``None``)."""
    limit = settings.QUARANTINE_THRESHOLD if threshold is None else threshold
    if received <= 0 or quarantined / received <= limit:
        return None
    rules = "; ".join(f"{rule} ({n})" for rule, n in sorted((top_rules or {}).items(), key=lambda kv: -kv[1])[:3])
    alert = Alert(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        kind="quarantine",
        reason=(
            f"{source}.{entity} batch {batch_id}: {quarantined} of {received} rows quarantined "
            f"({quarantined / received:.1%} > threshold {limit:.1%})" + (f"; top rules: {rules}" if rules else "")
        ),
        details={
            "source": source, "entity": entity, "batch_id": batch_id,
            "received": received, "quarantined": quarantined, "threshold": limit,
        },
    )
    send_alert(alert, conn)
    return alert
