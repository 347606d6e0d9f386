"""``narrowcast serve``: run the webhook receiver or the profile API, export the profile snapshot, issue an API key."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from narrowcast import settings
from narrowcast.serve.api_keys import (
    DEFAULT_BURST,
    DEFAULT_RATE_PER_SECOND,
    key_entry,
    keys_file,
    load_keys,
    new_token,
)
from narrowcast.serve.profile_snapshot import SnapshotHolder, export_from_warehouse, snapshot_path

USAGE = """usage: narrowcast serve <command> [args]

commands:
  webhooks         Shopify webhook receiver: POST /webhooks/shopify [--host, --port, default
                   $NARROWCAST_WEBHOOKS_PORT or 8790]; lands deliveries in <data dir>/landing/webhooks/shopify/
  profiles         profile read API: GET /profiles/{customer_key} [--host, --port, default
                   $NARROWCAST_PROFILES_PORT or 8791], answering from the exported snapshot
  export-profiles  write the profile snapshot from the warehouse (run after each transform)
  new-api-key      issue a profile API key: prints the key once and stores only its digest
"""

WEBHOOKS_PORT = settings.env_int("NARROWCAST_WEBHOOKS_PORT", 8790)
PROFILES_PORT = settings.env_int("NARROWCAST_PROFILES_PORT", 8791)


def _address(prog: str, args: list[str], port: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog)
    # Loopback by default: in production a TLS-terminating proxy (Shopify only delivers over HTTPS) sits in front.
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser.parse_args(args)


def _run(app, address: argparse.Namespace, what: str) -> int:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"{what} on http://{address.host}:{address.port} (Ctrl-C stops it)", flush=True)
    # No access log: a profile path names a customer. One worker: rate limits and duplicate checks live in it.
    uvicorn.run(app, host=address.host, port=address.port, loop="uvloop", http="httptools", access_log=False,
                server_header=False, log_level="warning")
    return 0


def webhooks(args: list[str]) -> int:
    from narrowcast.serve.shopify_webhooks import WebhookConfig, webhook_app

    address = _address("narrowcast serve webhooks", args, WEBHOOKS_PORT)
    config = WebhookConfig.from_env()
    config.inbox.mkdir(parents=True, exist_ok=True)
    return _run(webhook_app(config), address, f"Shopify webhook receiver ({', '.join(sorted(config.topics))})")


def profiles(args: list[str]) -> int:
    from narrowcast.serve.profiles import profile_app

    address = _address("narrowcast serve profiles", args, PROFILES_PORT)
    holder = SnapshotHolder(snapshot_path())
    if holder.current() is None:
        print(f"no snapshot at {holder.path} yet: answering 503 until `narrowcast serve export-profiles` writes one")
    return _run(profile_app(load_keys(), holder), address, "profile read API")


def export_profiles(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="narrowcast serve export-profiles")
    parser.add_argument("--reporting-currency", default="EUR",
                        help="currency of the RFM amounts (the dbt var reporting_currency; default EUR)")
    parser.add_argument("--output", type=Path, default=None, help=f"default {snapshot_path()}")
    options = parser.parse_args(args)
    rows = export_from_warehouse(options.output, reporting_currency=options.reporting_currency)
    print(f"profile snapshot: {rows} customers in {options.output or snapshot_path()}")
    return 0


def new_api_key(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="narrowcast serve new-api-key")
    parser.add_argument("--client", required=True, help="who uses the key (e.g. storefront)")
    parser.add_argument("--source", action="append", dest="sources",
                        help="restrict to customers known to this source (shop, file, ebay, amazon, etsy); repeatable")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE_PER_SECOND, help="requests per second")
    parser.add_argument("--burst", type=int, default=DEFAULT_BURST)
    parser.add_argument("--keys-file", type=Path, default=None, help=f"default {keys_file()}")
    options = parser.parse_args(args)
    path = options.keys_file or keys_file()
    document = json.loads(path.read_text()) if path.is_file() else {"keys": []}
    token = new_token()
    document["keys"].append(key_entry(token, options.client, options.sources, options.rate, options.burst))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    load_keys({"NARROWCAST_PROFILE_API_KEYS_FILE": str(path)})
    print(f"API key for {options.client} (shown once; {path} keeps only its SHA-256):\n{token}")
    return 0


COMMANDS = {"webhooks": webhooks, "profiles": profiles, "export-profiles": export_profiles,
            "new-api-key": new_api_key}


def main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        print(USAGE)
        return 0 if not args or args[0] in ("-h", "--help") else 2
    return COMMANDS[args[0]](args[1:])
