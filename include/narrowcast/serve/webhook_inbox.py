"""The landed-webhook inbox: one JSON file per Shopify delivery, written exactly once and never half-visible.

Layout (the interface the real-time readers build to):
``<data dir>/landing/webhooks/shopify/<topic with / replaced by _>/<X-Shopify-Webhook-Id>.json`` holding
``{"topic", "shop_domain", "webhook_id", "triggered_at", "received_at", "payload"}``. Readers treat each topic
directory as an inbox, read ``*.json`` only (temporary files end in ``.tmp``) and never delete files.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from narrowcast import settings

SHOPIFY_INBOX = ("webhooks", "shopify")


def shopify_inbox(data_dir: Path | None = None) -> Path:
    """Root of the Shopify webhook inbox under the landing zone."""
    landing = settings.Paths(data_dir).landing if data_dir else settings.paths().landing
    return landing.joinpath(*SHOPIFY_INBOX)


def topic_folder(topic: str) -> str:
    return topic.replace("/", "_")


def landed_path(inbox: Path, topic: str, webhook_id: str) -> Path:
    """Where the delivery ``webhook_id`` of ``topic`` lands (the caller has checked both are safe file names)."""
    return inbox / topic_folder(topic) / f"{webhook_id}.json"


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: its headers as Shopify sent them and the raw JSON body (already checked to parse)."""

    topic: str
    shop_domain: str
    webhook_id: str
    triggered_at: str
    body: bytes


def land(inbox: Path, delivery: Delivery, received_at: str) -> bool:
    """Write ``delivery`` once; False when a file for its webhook id is already there (a retry or replay).

    The file is written and fsynced under a temporary name, then hard-linked to its final name: a link never
    replaces an existing file, so of two concurrent deliveries of one webhook exactly one lands and the other
    sees the first one's file. The acknowledgement Shopify gets therefore means the payload is on disk.
    """
    target = landed_path(inbox, delivery.topic, delivery.webhook_id)
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    envelope = {
        "topic": delivery.topic,
        "shop_domain": delivery.shop_domain,
        "webhook_id": delivery.webhook_id,
        "triggered_at": delivery.triggered_at,
        "received_at": received_at,
    }
    # The payload is spliced in as received, so numbers and strings keep Shopify's exact spelling.
    content = json.dumps(envelope)[:-1].encode() + b', "payload": ' + delivery.body + b"}\n"
    temporary = target.parent / f".{delivery.webhook_id}.{secrets.token_hex(6)}.json.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        _fsync_directory(target.parent)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _fsync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
