"""Partner lists, from the file a partner drops to the ad platform and the e-mail tool, against the emulators.

A partner's export as European tools write it (semicolons, UTF-8 with a BOM, CRLF, day-first dates, mixed-case
e-mails, a contact listed twice, a basis the file kind does not know, a contact without an e-mail, one under the
contract basis) is extracted from the inbox, built by dbt (``+partner_audience_members``) and sent by the shipped
partner syncs. Only what each contact's basis and the partner allow leaves the warehouse: contract-basis and
quarantined contacts, and the holdout, appear in no request to any emulator. The partner's next drop without one
contact removes that contact from both destinations, once the removal guard's refusal is confirmed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "activation"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))

from activation_fixtures import connections, emulators, sandbox  # noqa: E402
from dbt_invocation import run_dbt  # noqa: E402

from narrowcast import settings  # noqa: E402
from narrowcast.activation import load_syncs, run_sync  # noqa: E402
from narrowcast.activation.report import RemovalsNotConfirmed  # noqa: E402
from narrowcast.contracts.windows import Window  # noqa: E402
from narrowcast.extract import run_source  # noqa: E402

pytestmark = pytest.mark.e2e
__all__ = ["connections", "emulators", "sandbox"]  # fixtures used by name

OCTOBER = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
NOVEMBER = Window(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))
META_AUDIENCE, KLAVIYO_LIST = "120210000000000201", "XPartnerAwin1"
HEADER = "partner_id;email;consent_basis;allowed_uses;collected_at"
# The partner's October list. Clara is in the deterministic holdout (var holdout_share of the hashed e-mail).
OCTOBER_ROWS = [
    "awin;Lena.Schmidt@Example.DE;consent;email|ads;23.10.2026",
    "AWIN; lena.schmidt@example.de ;consent;Email | Ads;23.10.2026 18:40",  # the same person again
    "awin;Ines.Garcia@Example.ES;legitimate_interest;email|ads;15.10.2026",
    "awin;Marie.Dupont@Example.FR;contract;email|ads;21.10.2026",
    "awin;Paul.Weber@Example.DE;Einwilligung;email|ads;22.10.2026",  # not a basis the file kind knows
    "awin;;consent;email|ads;22.10.2026",  # no e-mail
    "awin;Sofia.Rossi@Example.IT;consent;ads;17.10.2026",
    "awin;Tom.Klein@Example.DE;consent;email|ads;18.10.2026",
    "awin;Clara.Roth@Example.DE;consent;email|ads;19.10.2026",
    "awin;Noah.Fischer@Example.DE;consent;email|ads;30.10.2026",
]
# May be e-mailed: consent or legitimate interest with "email"; may be advertised to: consent with "ads".
EMAILED = {"lena.schmidt@example.de", "ines.garcia@example.es", "tom.klein@example.de", "noah.fischer@example.de"}
ADVERTISED = {"lena.schmidt@example.de", "sofia.rossi@example.it", "tom.klein@example.de", "noah.fischer@example.de"}
NEVER_SENT = {"marie.dupont@example.fr", "paul.weber@example.de", "clara.roth@example.de"}
WITHDRAWN = "tom.klein@example.de"


def sha(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def drop(inbox: Path, name: str, rows: list[str], *, bom: bool, newline: str) -> None:
    text = newline.join([HEADER, *rows]) + newline
    (inbox / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def load_and_build(data_dir: Path, window: Window) -> None:
    """One inbox extract, then dbt builds the partner audience and everything it reads."""
    report = run_source("inbox", None, window, data_dir=data_dir, warehouse=data_dir / "wh.duckdb", threshold=0.5)
    assert report is not None
    run_dbt(["build", "--select", "+partner_audience_members"], warehouse=data_dir / "wh.duckdb",
            target_path=data_dir / "dbt_target")


def partner_syncs() -> list[Any]:
    return sorted((s for s in load_syncs() if s.model == "partner_audience_members"), key=lambda s: s.id)


def destinations(emulators: dict[str, Any]) -> dict[str, set[str]]:
    """Who each destination holds: Meta audience members (hashed e-mails), Klaviyo list members' e-mails."""
    klaviyo = emulators["klaviyo"].snapshot()
    on_list = set(klaviyo["lists"].get(KLAVIYO_LIST, []))
    return {
        "meta": set(emulators["meta_audiences"].snapshot()["audiences"].get(META_AUDIENCE, [])),
        "klaviyo": {str(p.get("email")) for ext, p in klaviyo["profiles"].items() if ext in on_list},
    }


@pytest.fixture()
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request the engine sends (URL and body), as text, to search for what must never leave."""
    captured: list[str] = []
    original = requests.Session.send

    def send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        captured.append(f"{request.url} {body}")
        return original(session, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return captured


def test_a_partner_list_reaches_each_destination_only_as_its_basis_allows_and_a_withdrawn_contact_leaves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulators: dict[str, Any], connections: dict[str, Any],
        sent: list[str]) -> None:
    monkeypatch.setattr(settings, "INBOX_SETTLE_SECONDS", 0.0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    syncs = partner_syncs()
    assert [s.id for s in syncs] == ["partner_awin_klaviyo_list", "partner_awin_meta"]

    # GIVEN the partner's October list as its tool exports it: UTF-8 with a BOM, semicolons, CRLF
    drop(inbox, "partner_list_awin_2026-10.csv", OCTOBER_ROWS, bom=True, newline="\r\n")
    load_and_build(tmp_path, OCTOBER)
    # WHEN the shipped partner syncs run against the emulators
    for spec in syncs:
        run_sync(spec, connections=connections, warehouse=tmp_path / "wh.duckdb")

    # THEN Meta holds the hashed e-mails of the ad-consented contacts, Klaviyo lists the e-mail-allowed ones,
    # the duplicate row is one member, and the holdout is in neither
    assert destinations(emulators) == {"meta": {sha(e) for e in ADVERTISED}, "klaviyo": EMAILED}
    # AND the contract-basis, quarantined and held-out contacts reached no emulator in any form
    assert sent, "the syncs sent requests"
    everything = "\n".join(sent).lower() + json.dumps(
        [(e.snapshot(), e.received) for e in emulators.values()], default=str).lower()
    for email in NEVER_SENT:
        assert email not in everything and sha(email) not in everything, email
    # AND no plain e-mail went to Meta, only SHA-256 hashes
    meta_requests = "\n".join(r for r in sent if "/meta/" in r).lower()
    assert not any(email in meta_requests for email in EMAILED | ADVERTISED)

    # GIVEN the partner's November drop without Tom (his consent withdrawn), no BOM, LF line ends
    november = [row for row in OCTOBER_ROWS if "Tom.Klein" not in row]
    drop(inbox, "partner_list_awin_2026-11.csv", november, bom=False, newline="\n")
    load_and_build(tmp_path, NOVEMBER)
    # WHEN the syncs run, one member of four leaving is more than the removal guard lets pass unconfirmed
    for spec in syncs:
        with pytest.raises(RemovalsNotConfirmed, match=f"sync {spec.id}: refused"):
            run_sync(spec, connections=connections, warehouse=tmp_path / "wh.duckdb")
    # THEN nothing was sent: Tom is still in both
    assert destinations(emulators) == {"meta": {sha(e) for e in ADVERTISED}, "klaviyo": EMAILED}

    # WHEN the removals are confirmed
    reports = [run_sync(spec, connections=connections, warehouse=tmp_path / "wh.duckdb", confirm_removals=True)
               for spec in syncs]
    # THEN Tom alone leaves both destinations
    assert [(r.planned_adds, r.planned_removes, r.accepted) for r in reports] == [(0, 1, 1), (0, 1, 1)]
    assert destinations(emulators) == {"meta": {sha(e) for e in ADVERTISED - {WITHDRAWN}},
                                       "klaviyo": EMAILED - {WITHDRAWN}}
