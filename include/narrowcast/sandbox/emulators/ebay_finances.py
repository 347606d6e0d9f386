"""eBay Sell Finances emulator: ``GET /sell/finances/v1/transaction`` (getTransactions), served under the eBay
prefix (the real API sits on the apiz host; the source's client derives that host from the connection's).

One SALE transaction per world eBay order, dated at its creation, with demo marketplace fees per line: a final
value fee of FINAL_VALUE_FEE_RATE of the line and a fixed per-order fee on the first line (fee type names from
eBay's FeeTypeEnum; the rates are the sandbox's, not eBay's). Filter ``transactionDate:[a..b]`` (both ends
included), ``limit``/``offset`` paging with ``next`` hrefs and ``total``, 204 No Content when nothing matches.

Errors as sell_finances_v1_oas3 lists them for getTransactions: 135003 invalid pagination, 135008 invalid
transaction date filter, 135000 internal error; eBay's common 1001 (invalid access token) and 2001 (too many
requests) through :class:`EbayErrors`.

Digital signatures ("Digital Signatures for APIs"): :meth:`create_signing_key` issues a keypair shaped as the Key
Management API's createSigningKey answers it; with ``require_signatures``
set (an EU/UK seller) every Finances call must carry ``x-ebay-signature-key`` (a JWE this emulator issued),
``Signature-Input`` and ``Signature`` (RFC 9421 over the listed components, ``created`` within five minutes) and,
with a body, a matching ``Content-Digest``; otherwise it is refused as eBay refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from narrowcast.sandbox.emulators.ebay import EbayErrors, ebay_authorized
from narrowcast.sandbox.emulators.world_index import KeyIndex, epoch_us, iso_z, json_array, read_world_table
from narrowcast.sandbox.framework import Emulator

DEFAULT_LIMIT = 20  # getTransactions: "Default: 20"
MAX_LIMIT = 1000  # getTransactions: "Maximum: 1000"
FINAL_VALUE_FEE_RATE = Decimal("0.11")
FIXED_PER_ORDER_FEE = Decimal("0.35")
_FILTER = re.compile(r"^transactionDate:\[(?P<a>[^\]]*?)\.\.(?P<b>[^\]]*)\]$")
CENT = Decimal("0.01")
# RFC 9421 Signature-Input member: label=("component" ...);created=<seconds>
_SIGNATURE_INPUT = re.compile(r'^(?P<label>[\w-]+)=\((?P<components>[^)]*)\);created=(?P<created>\d+)$')
SIGNATURE_MAX_AGE = 300  # created more than five minutes off is refused (eBay's signature time window)


def _amount(value: Decimal, currency: str) -> dict[str, str]:
    return {"value": f"{value.quantize(CENT, rounding=ROUND_HALF_UP)}", "currency": currency}


def sale_transaction(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The SALE transaction of one world order (its rows of ``ebay_orders``), with the sandbox's fees."""
    head = lines[0]
    currency = head["currency"]
    fee_lines, total_fees, total = [], Decimal(0), Decimal(0)
    for number, line in enumerate(lines):
        cost = Decimal(str(line["line_item_cost"]))
        fees = [("FINAL_VALUE_FEE", (cost * FINAL_VALUE_FEE_RATE).quantize(CENT, rounding=ROUND_HALF_UP))]
        if number == 0:
            fees.append(("FINAL_VALUE_FEE_FIXED_PER_ORDER", FIXED_PER_ORDER_FEE))
        total += cost
        total_fees += sum((amount for _, amount in fees), start=Decimal(0))
        fee_lines.append({"lineItemId": line["line_item_id"], "feeBasisAmount": _amount(cost, currency),
                          "marketplaceFees": [{"feeType": kind, "amount": _amount(amount, currency)}
                                              for kind, amount in fees]})
    return {
        "transactionId": f"T-{head['order_id']}", "orderId": head["order_id"], "transactionType": "SALE",
        "transactionStatus": "PAYOUT", "bookingEntry": "CREDIT",
        "transactionDate": iso_z(head["creation_date"], millis=True),
        "amount": _amount(total - total_fees, currency), "totalFeeAmount": _amount(total_fees, currency),
        "totalFeeBasisAmount": _amount(total, currency), "orderLineItems": fee_lines,
    }


def _micros(text: str) -> int | None:
    return epoch_us(datetime.fromisoformat(text)) if text else None


class EbayFinancesEmulator(EbayErrors, Emulator):
    name = "ebay_finances"
    prefix = "ebay"

    def load(self) -> None:
        self.seed_orders(read_world_table(self.world_dir, "ebay_orders"))
        # An EU/UK seller's calls must be signed; tests switch it on.
        self.require_signatures = False
        self.signing_keys: dict[str, ed25519.Ed25519PublicKey | rsa.RSAPublicKey] = {}

    def create_signing_key(self, cipher: str = "ED25519") -> dict[str, Any]:
        """A keypair as createSigningKey answers it (Key Management API SigningKey: signingKeyId,
        signingKeyCipher, publicKey, privateKey as base64 DER, jwe, creationTime, expirationTime)."""
        private_key = (ed25519.Ed25519PrivateKey.generate() if cipher == "ED25519"
                       else rsa.generate_private_key(public_exponent=65537, key_size=2048))
        der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        public_der = private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
        # eBay's JWE wraps the public key for eBay alone; here it is an opaque token the emulator maps back.
        header = base64.urlsafe_b64encode(b'{"alg":"A256GCMKW","enc":"A256GCM","zip":"DEF"}').rstrip(b"=").decode()
        jwe = ".".join([header, *(secrets.token_urlsafe(24) for _ in range(4))])
        with self.lock:
            self.signing_keys[jwe] = private_key.public_key()
        now = int(time.time())
        return {"signingKeyId": secrets.token_hex(16), "signingKeyCipher": cipher,
                "publicKey": base64.b64encode(public_der).decode(), "privateKey": base64.b64encode(der).decode(),
                "jwe": jwe, "creationTime": now, "expirationTime": now + 3 * 365 * 86400}

    def signature_problem(self, request: Request, body: bytes) -> str | None:
        """Why a call's signature does not verify, or None when it does."""
        headers = dict(request.headers)
        public_key = self.signing_keys.get(headers.get("x-ebay-signature-key", ""))
        match = _SIGNATURE_INPUT.match(headers.get("signature-input", "").strip())
        signature = re.match(r"^([\w-]+)=:([A-Za-z0-9+/=]+):$", headers.get("signature", "").strip())
        if public_key is None or match is None or signature is None or signature[1] != match["label"]:
            return "signature headers missing or the key is unknown"
        components = tuple(c.strip('"') for c in match["components"].split())
        needed = {"x-ebay-signature-key", "@method", "@path", "@authority"} | ({"content-digest"} if body else set())
        if not needed <= set(components):
            return "a required component is not covered"
        digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
        if body and headers.get("content-digest") != digest:
            return "Content-Digest does not match the body"
        if abs(time.time() - int(match["created"])) > SIGNATURE_MAX_AGE:
            return "created is outside the accepted window"
        # RFC 9421 §2.5: one line per covered component in the order listed, then @signature-params.
        derived = {"@method": request.method, "@path": request.url.path, "@authority": request.url.netloc}
        lines = [f'"{c}": {derived[c] if c.startswith("@") else headers.get(c, "")}' for c in components]
        lines.append(f'"@signature-params": ({match["components"]});created={match["created"]}')
        base = "\n".join(lines).encode()
        try:
            raw = base64.b64decode(signature[2])
            if isinstance(public_key, ed25519.Ed25519PublicKey):
                public_key.verify(raw, base)
            else:
                public_key.verify(raw, base, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError, KeyError):
            return "the signature does not verify"
        return None

    def signature_refused(self) -> Response:
        # The refusal eBay answers to a call it cannot verify (errorId 215120, domain ACCESS, HTTP 403; as eBay
        # reports it in eBay/digital-signature-verification-ebay-api issues on "Digital Signatures for APIs").
        return self.ebay_error(403, 215120, "ACCESS", "REQUEST", "Signature validation failed",
                               "Signature validation failed to fulfill the request.")

    def seed_orders(self, rows: list[dict[str, Any]]) -> None:
        """Serve the transactions of these order lines (rows shaped as the world's ``ebay_orders``)."""
        lines: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            lines[row["order_id"]].append(row)
        self.index = KeyIndex([
            (epoch_us(order_lines[0]["creation_date"]), order_id,
             json.dumps(sale_transaction(order_lines), separators=(",", ":")))
            for order_id, order_lines in lines.items()])

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/sell/finances/v1/transaction", self.get_transactions, methods=["GET"])

    async def get_transactions(self, request: Request) -> Response:
        if not ebay_authorized(request):
            return self.unauthorized()
        if self.require_signatures and self.signature_problem(request, await request.body()) is not None:
            return self.signature_refused()
        query = request.query_params
        low = high = None
        if query.get("filter"):
            match = _FILTER.match(query["filter"].strip())
            try:
                if not match:
                    raise ValueError
                low, high = _micros(match["a"]), _micros(match["b"])
            except ValueError:
                return self.ebay_error(400, 135008, "API_FINANCES", "REQUEST",
                                       "The value of transaction date filter is invalid.")
        try:
            limit, offset = int(query.get("limit", DEFAULT_LIMIT)), int(query.get("offset", 0))
            if not 1 <= limit <= MAX_LIMIT or offset < 0:
                raise ValueError
        except ValueError:
            return self.ebay_error(400, 135003, "API_FINANCES", "REQUEST", "The value of pagination is invalid.")
        lo, hi = self.index.bounds(low, high)
        total = hi - lo
        if total == 0:
            return Response(status_code=204)
        start, stop = min(hi, lo + offset), min(hi, lo + offset + limit)

        def href(new_offset: int) -> str:
            return str(request.url.replace(query=urlencode({**query, "limit": limit, "offset": new_offset})))

        page: dict[str, Any] = {"href": href(offset), "total": total, "limit": limit, "offset": offset}
        if offset + limit < total:
            page["next"] = href(offset + limit)
        head = json.dumps(page, separators=(",", ":"))[:-1]
        body = f'{head},"transactions":{json_array(self.index.payloads[start:stop])}}}'
        return Response(body, media_type="application/json")

    def server_error(self) -> Response:
        return self.ebay_error(500, 135000, "API_FINANCES", "APPLICATION",
                               "There was a problem with an eBay internal system or process. Contact eBay developer "
                               "support for assistance.")


EMULATOR = EbayFinancesEmulator
