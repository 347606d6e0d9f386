"""eBay Finances calls for an EU/UK seller carry an RFC 9421 message signature ("Digital Signatures for APIs"):
the emulator, set to require one, accepts the signed calls and refuses unsigned or tampered ones with 215120."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ed25519
from tiny_world import sandbox_connection

from narrowcast.apis import ebay
from narrowcast.http import FatalApiError
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources import ebay_finances

TRANSACTIONS = "sell/finances/v1/transaction"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["ebay_finances"]) as sandbox:
        yield sandbox


@pytest.fixture()
def finances(server: SandboxServer) -> Any:
    emulator = server.app.state.emulators["ebay_finances"]
    emulator.reset()
    emulator.require_signatures = True
    return emulator


def client_for(server: SandboxServer, **extra: Any) -> ebay_finances.EbayFinancesClient:
    return ebay_finances.EbayFinancesClient.from_connection(sandbox_connection(server, "ebay", "narrowcast_ebay",
                                                                               **extra))


@pytest.mark.parametrize("cipher", [pytest.param("ED25519", id="an Ed25519 key"), pytest.param("RSA", id="an RSA key")])
def test_a_signed_finances_call_is_accepted(cipher, server, finances):
    key = finances.create_signing_key(cipher)
    client = client_for(server, signing_key_jwe=key["jwe"], signing_private_key=key["privateKey"])
    response = client.request("GET", TRANSACTIONS, params={"limit": 5}, ok_statuses=(204,))
    sent = response.request.headers
    assert sent["x-ebay-signature-key"] == key["jwe"]
    assert sent["Signature-Input"].startswith('sig1=("x-ebay-signature-key" "@method" "@path" "@authority");created=')
    assert sent["Signature"].startswith("sig1=:")
    # a GET has no body, so no digest (the guide: Content-Digest only for a payload)
    assert "Content-Digest" not in sent


def test_an_unsigned_finances_call_is_refused_with_ebays_error(server, finances):
    with pytest.raises(FatalApiError) as refused:
        client_for(server).request("GET", TRANSACTIONS)
    assert refused.value.status == 403
    assert "errorId 215120" in refused.value.message


def test_a_signature_from_another_key_is_refused(server, finances):
    key, other = finances.create_signing_key(), finances.create_signing_key()
    with pytest.raises(FatalApiError, match="215120"):
        client_for(server, signing_key_jwe=key["jwe"], signing_private_key=other["privateKey"]).request(
            "GET", TRANSACTIONS)


def test_a_signed_call_replayed_to_another_authority_is_refused(server, finances):
    # GIVEN a call signed for one host, WHEN the same headers are sent to another name of it
    key = finances.create_signing_key()
    signed = client_for(server, signing_key_jwe=key["jwe"], signing_private_key=key["privateKey"]).request(
        "GET", TRANSACTIONS, ok_statuses=(204,))
    headers = {k: v for k, v in signed.request.headers.items() if k.lower() not in ("content-length", "host")}
    assert "127.0.0.1" in signed.request.url
    replay = requests.get(signed.request.url.replace("127.0.0.1", "localhost"), headers=headers, timeout=5)
    # THEN the emulator does not verify it
    assert (replay.status_code, replay.json()["errors"][0]["errorId"]) == (403, 215120)


def test_a_body_is_covered_by_its_content_digest():
    # GIVEN a known Ed25519 key and a fixed clock, WHEN a POST to an in-scope path is signed
    key = ed25519.Ed25519PrivateKey.generate()
    signer = ebay.MessageSignature("JWE", key, clock=lambda: 1_700_000_000)
    body = b'{"reasonForRefund":"BUYER_RETURNED_ITEM"}'
    prepared = requests.Request("POST", "https://api.ebay.com/sell/fulfillment/v1/order/1/issue_refund",
                                data=body).prepare()
    signer(prepared)
    # THEN the digest is RFC 9530's SHA-256 of the body and the signature covers it first
    assert prepared.headers["Content-Digest"] == ebay.content_digest(body)
    assert prepared.headers["Signature-Input"] == (
        'sig1=("content-digest" "x-ebay-signature-key" "@method" "@path" "@authority");created=1700000000')
    base = ebay.signature_base(("content-digest", "x-ebay-signature-key", "@method", "@path", "@authority"),
                               {"content-digest": ebay.content_digest(body), "x-ebay-signature-key": "JWE",
                                "@method": "POST", "@path": "/sell/fulfillment/v1/order/1/issue_refund",
                                "@authority": "api.ebay.com"}, 1_700_000_000)
    signature = base64.b64decode(prepared.headers["Signature"][len("sig1=:"):-1])
    key.public_key().verify(signature, base)


def test_calls_out_of_scope_stay_unsigned():
    signer = ebay.MessageSignature("JWE", ed25519.Ed25519PrivateKey.generate())
    prepared = signer(requests.Request("GET", "https://api.ebay.com/sell/fulfillment/v1/order").prepare())
    assert "Signature" not in prepared.headers


def test_an_eu_uk_seller_without_a_key_is_refused_before_any_call(server):
    with pytest.raises(ValueError, match="signing_key_jwe and signing_private_key"):
        client_for(server, eu_uk_seller=True)
