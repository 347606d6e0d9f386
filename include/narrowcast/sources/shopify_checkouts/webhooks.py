"""Reads the landed Shopify webhooks of a window from the inbox the webhook receiver writes.

The receiver writes each verified delivery once to ``<topic with / as _>/<X-Shopify-Webhook-Id>.json`` under
the source's input folder (a temp name renamed into place, so a file is never half there), as ``{"topic",
"shop_domain", "webhook_id", "triggered_at", "received_at", "payload"}``. The folder is an inbox that readers
never empty: a window reads the deliveries whose payload ``updated_at`` lies in it, and a file written before
the window began cannot hold one (a delivery is received after its change), so older files are not opened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.contracts.windows import Window

log = redacting_logger(__name__)

CHECKOUT_TOPICS = ("checkouts/create", "checkouts/update")
ORDER_TOPICS = ("orders/create",)


def topic_folder(topic: str) -> str:
    return topic.replace("/", "_")


def deliveries(inbox: Path | None, topics: tuple[str, ...], window: Window
               ) -> Iterator[tuple[dict[str, Any], str]]:
    """(payload, source ref) of every delivery of ``topics`` whose payload was updated in ``window``."""
    if inbox is None:
        return
    since = window.start.replace(tzinfo=UTC).timestamp()  # windows are naive UTC
    for topic in topics:
        folder = Path(inbox) / topic_folder(topic)
        if not folder.is_dir():
            continue
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries
                           if e.name.endswith(".json") and e.is_file() and e.stat().st_mtime >= since)
        for name in names:
            path = folder / name
            try:
                delivery = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                # A file the receiver wrote is whole (renamed into place); an unreadable one is someone else's.
                log.warning("shopify webhook %s/%s is not readable JSON (%s); skipped", topic, name, type(exc).__name__)
                continue
            payload = delivery.get("payload") if isinstance(delivery, dict) else None
            if not isinstance(payload, dict):
                log.warning("shopify webhook %s/%s has no payload object; skipped", topic, name)
                continue
            updated = payload.get("updated_at") or payload.get("created_at")
            try:
                moment = parse_timestamp(updated, where=f"webhook {topic}/{name}")
            except ValueError:
                log.warning("shopify webhook %s/%s has no readable updated_at; skipped", topic, name)
                continue
            if moment is not None and window.contains(moment):
                yield payload, f"webhook {topic} {name}"
