"""Emulator of the shop's abandoned checkouts and code discounts (GraphQL Admin API), for the real-time path.

Answers the shop's one GraphQL endpoint (:mod:`.shopify_graphql`) for:

- ``abandonedCheckouts(first:, after:, query:)`` — ``AbandonedCheckout`` objects
  (https://shopify.dev/docs/api/admin-graphql/latest/objects/AbandonedCheckout) ordered by id, with the
  ``updated_at`` range terms and an ``id:<n>`` term of the search syntax; nested ``lineItems`` need ``first``.
- ``discountCodeBasicCreate(basicCodeDiscount:)`` — one code discount with its first code; a code the shop
  already has is refused in ``userErrors`` with ``TAKEN`` (DiscountErrorCode,
  https://shopify.dev/docs/api/admin-graphql/latest/enums/DiscountErrorCode).
- ``discountRedeemCodeBulkAdd(discountId:, codes:)`` — at most 250 codes ("Maximum: 250 codes",
  https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountRedeemCodeBulkAdd; more is refused as
  ``MAX_INPUT_SIZE_EXCEEDED``, the limits page's error for an oversized input array); asynchronous: the
  ``DiscountRedeemCodeBulkCreation`` answers ``done: false`` and its codes are created on its first read
  (https://shopify.dev/docs/api/admin-graphql/latest/objects/DiscountRedeemCodeBulkCreation), each refused one
  with ``errors`` on its row: ``BLANK``, ``TOO_LONG`` above 255 characters (a code's documented maximum,
  https://shopify.dev/docs/api/admin-rest/latest/resources/discountcode: "maximum: 255 characters") or ``TAKEN``
  when the shop already has it in any discount. Codes are case-insensitive (same page), so ``ref-1`` takes
  ``REF-1``; a code repeated within one call is taken by its first occurrence.
- ``discountCodeRedeemCodeBulkDelete(discountId:, ids:)`` — at most 250 ids (an input array); ``userErrors``
  ``INVALID`` for an unknown discount, ``MISSING_ARGUMENT`` without ids (DiscountErrorCode); asynchronous: it
  answers a ``Job`` (https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountCodeRedeemCodeBulkDelete)
  whose codes are deleted on the first ``job(id:)`` read, which then answers ``done: true``. Ids of other
  discounts' codes or of codes already gone are left alone. ``search`` and ``savedSearchId`` are not served.
- ``discountRedeemCodeBulkCreation(id:)`` with ``codes`` (each ``code``, ``errors``, ``discountRedeemCode``),
  ``codeDiscountNodeByCode(code:)``, ``codeDiscountNodes(first:, query:)`` (the ``title:`` term, or words of the
  title; https://shopify.dev/docs/api/admin-graphql/latest/queries/codeDiscountNodes) and
  ``codeDiscountNode(id:)`` whose ``DiscountCodeBasic`` has ``title`` and ``codes(first:, after:)`` in id order.

Checkouts come from the world (one per seventh customer with an e-mail, carting two products, an hour before
the customer's last update) and from tests: :meth:`put_checkout` / :meth:`complete_checkout`, also over HTTP
at ``POST /shopify/_sandbox/abandoned-checkouts`` and ``POST /shopify/_sandbox/abandoned-checkouts/{id}/complete``.
:meth:`fail_next_codes` makes the next codes fail to create (``errors`` on the code, as Shopify reports a code
it could not create). Money is in the checkout's presentment currency and the shop currency (EUR).
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.shopify import (
    Connection,
    QueryError,
    ShopifyErrors,
    _page_size,
    _project,
    _project_page,
    _Run,
    _search_bounds,
    answer_operation,
)
from narrowcast.sandbox.emulators.shopify_graphql import (
    CostBucket,
    GraphQLSyntaxError,
    Selection,
    add_graphql_route,
    parse,
)
from narrowcast.sandbox.emulators.world_index import (
    decode_cursor,
    encode_cursor,
    epoch_us,
    iso_z,
    money_text,
    read_world_table,
)
from narrowcast.sandbox.framework import Emulator

SHOP_CURRENCY = "EUR"
MAX_CODES = 250
MAX_CODE_LENGTH = 255
_QUERIES = {"abandonedCheckouts", "discountRedeemCodeBulkCreation", "codeDiscountNodeByCode", "codeDiscountNodes",
            "codeDiscountNode", "job"}
_MUTATIONS = {"discountCodeBasicCreate", "discountRedeemCodeBulkAdd", "discountCodeRedeemCodeBulkDelete"}
_TITLE_TERM = re.compile(r'title:(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def _user_error(field: list[str], message: str, code: str) -> dict[str, Any]:
    return {"__typename": "DiscountUserError", "field": field, "message": message, "code": code}


def _code_problem(code: str, field: list[str]) -> dict[str, Any] | None:
    """The documented refusal of a code by its own shape (blank, longer than 255 characters), or None."""
    if not code.strip():
        return _user_error(field, "Code can't be blank", "BLANK")
    if len(code) > MAX_CODE_LENGTH:
        return _user_error(field, f"Code is too long (maximum is {MAX_CODE_LENGTH} characters)", "TOO_LONG")
    return None


def _gid_number(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def _start_after(ids: list[str], selection: Selection, variables: dict[str, Any]) -> int:
    """Where a page starts in ``ids`` (GIDs in ascending number order): after the ``after`` cursor's id."""
    after = selection.argument("after", variables)
    if not after:
        return 0
    try:
        last = int(decode_cursor(after)["id"])
    except (ValueError, KeyError, TypeError):
        raise QueryError(f"Invalid cursor for current pagination: {after}", "BAD_REQUEST") from None
    return next((i for i, gid in enumerate(ids) if _gid_number(gid) > last), len(ids))


def _money(amount: Decimal, currency: str, rate: Decimal) -> dict[str, Any]:
    """A MoneyBag: ``amount`` in the presentment currency, converted to the shop currency at ``rate``."""
    return {"__typename": "MoneyBag",
            "shopMoney": {"amount": money_text(amount / rate), "currencyCode": SHOP_CURRENCY},
            "presentmentMoney": {"amount": money_text(amount), "currencyCode": currency}}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class ShopifyCheckoutsEmulator(ShopifyErrors, Emulator):
    name = "shopify_checkouts"
    prefix = "shopify"
    emulates = "the abandonedCheckouts query and the code discount mutations"

    def __init__(self, world_dir: Path | None) -> None:
        self.bucket = CostBucket()
        self.checkouts: dict[int, dict[str, Any]] = {}
        self.discounts: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, str] = {}  # code -> discount id
        self.folded: dict[str, str] = {}  # casefolded code -> code as created
        self.creations: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.failing_codes = 0
        self._ids = itertools.count(1)
        super().__init__(world_dir)

    # ---- world and test controls ---------------------------------------------------------------------------
    def load(self) -> None:
        self.checkouts.clear()
        self.discounts.clear()
        self.codes.clear()
        self.folded.clear()
        self.creations.clear()
        self.jobs.clear()
        self.failing_codes = 0
        self.bucket.reset()
        products = read_world_table(self.world_dir, "products")
        for customer in read_world_table(self.world_dir, "customers"):
            if not customer.get("email") or customer["customer_id"] % 7 or not products:
                continue
            updated = customer["updated_at"] - timedelta(hours=1)
            picks = [products[(customer["customer_id"] + n) % len(products)] for n in range(2)]
            self.put_checkout(
                900_000 + customer["customer_id"], customer_id=customer["customer_id"], email=customer["email"],
                accepts_marketing=bool(customer["accepts_marketing"]), updated_at=updated, created_at=updated,
                lines=[{"sku": p["sku"], "title": p["title"], "quantity": 1, "price": p["price"],
                        "product_id": p["product_id"], "variant_id": p["variant_id"]} for p in picks])

    def put_checkout(self, checkout_id: int, *, lines: list[dict[str, Any]], customer_id: int | None = None,
                     email: str | None = None, accepts_marketing: bool = True, currency: str = SHOP_CURRENCY,
                     rate: Decimal | str = "1", updated_at: datetime | None = None,
                     created_at: datetime | None = None) -> dict[str, Any]:
        """Create or update an abandoned checkout as a buyer's cart would (``updatedAt`` now unless given)."""
        rate = Decimal(str(rate))
        updated = updated_at or _now()
        with self.lock:
            previous = self.checkouts.get(int(checkout_id))
            created = created_at or (previous["_created"] if previous else updated)
            items = Connection()
            total = Decimal(0)
            for n, line in enumerate(lines, start=1):
                unit = Decimal(str(line["price"]))
                quantity = int(line.get("quantity", 1))
                total += unit * quantity
                variant = line.get("variant_id") or int(checkout_id) * 100 + n
                items.append({
                    "__typename": "AbandonedCheckoutLineItem", "id": f"gid://shopify/AbandonedCheckoutLineItem/"
                    f"{int(checkout_id) * 100 + n}", "title": line.get("title"), "variantTitle": None,
                    "quantity": quantity, "sku": line.get("sku"),
                    "variant": {"__typename": "ProductVariant", "id": f"gid://shopify/ProductVariant/{variant}",
                                "sku": line.get("sku")},
                    "product": {"__typename": "Product", "id": f"gid://shopify/Product/{line.get('product_id') or variant}"},
                    "image": {"__typename": "Image", "url": line.get("image_url") or
                              f"https://cdn.shopify.example/products/{line.get('sku') or variant}.jpg"},
                    "originalUnitPriceSet": _money(unit, currency, rate),
                    "discountedTotalPriceSet": _money(unit * quantity, currency, rate),
                })
            customer = None
            if customer_id is not None or email:
                customer = {"__typename": "Customer", "id": f"gid://shopify/Customer/{customer_id or 0}",
                            "defaultEmailAddress": {"__typename": "CustomerEmailAddress", "emailAddress": email,
                                                    "marketingState": "SUBSCRIBED" if accepts_marketing
                                                    else "NOT_SUBSCRIBED"} if email else None}
            checkout = {
                "__typename": "AbandonedCheckout", "id": f"gid://shopify/AbandonedCheckout/{int(checkout_id)}",
                "name": f"#{int(checkout_id)}",
                "abandonedCheckoutUrl": f"https://narrowcast-demo.myshopify.com/checkouts/{int(checkout_id)}/recover"
                                        f"?key=sandbox{int(checkout_id)}",
                "createdAt": iso_z(created), "updatedAt": iso_z(updated), "completedAt": None,
                "customer": customer, "totalPriceSet": _money(total, currency, rate), "lineItems": items,
                "discountCodes": [], "_created": created,
            }
            self.checkouts[int(checkout_id)] = checkout
            return checkout

    def complete_checkout(self, checkout_id: int, at: datetime | None = None) -> None:
        """The buyer pays: the checkout gets ``completedAt`` (and a new ``updatedAt``)."""
        moment = iso_z(at or _now())
        with self.lock:
            self.checkouts[int(checkout_id)].update(completedAt=moment, updatedAt=moment)

    def fail_next_codes(self, count: int) -> None:
        """The next ``count`` redeem codes added fail to be created."""
        with self.lock:
            self.failing_codes = count

    def snapshot(self) -> dict[str, Any]:
        return {"checkouts": len(self.checkouts), "codes": dict(self.codes),
                "discounts": {k: {f: v for f, v in d.items() if f != "codes"} for k, d in self.discounts.items()}}

    # ---- routes --------------------------------------------------------------------------------------------
    def routes(self, router: APIRouter) -> None:
        add_graphql_route(router, self.unauthorized)

        @router.post("/_sandbox/abandoned-checkouts")
        async def put(request: Request) -> Response:
            body = await request.json()
            moment = body.pop("updated_at", None)
            checkout = self.put_checkout(int(body.pop("id")), updated_at=datetime.fromisoformat(moment)
                                         if moment else None, **body)
            return JSONResponse({k: v for k, v in checkout.items() if k != "lineItems" and not k.startswith("_")})

        @router.post("/_sandbox/abandoned-checkouts/{checkout_id}/complete")
        def complete(checkout_id: int) -> Response:
            if checkout_id not in self.checkouts:
                return JSONResponse({"errors": "Not Found"}, status_code=404)
            self.complete_checkout(checkout_id)
            return Response(status_code=204)

    def answers(self, query: str) -> bool:
        try:
            operation = parse(query)[0]
        except GraphQLSyntaxError:
            return False
        served = _MUTATIONS if operation.kind == "mutation" else _QUERIES
        return any(f.name in served for f in operation.root.fields())

    def answer(self, query: str, variables: dict[str, Any], version: str, request: Request) -> Response:
        return answer_operation(self.bucket, parse(query)[0],
                                mutation=lambda f, run: _project(self._mutation(f, variables), f, variables, run),
                                query=lambda f, run: self._query(f, variables, run), variables=variables)

    # ---- queries -------------------------------------------------------------------------------------------
    def _query(self, selection: Selection, variables: dict[str, Any], run: _Run) -> Any:
        if selection.name == "abandonedCheckouts":
            return self._checkouts(selection, variables, run)
        if selection.name == "codeDiscountNodeByCode":
            with self.lock:
                held = self.folded.get(str(selection.argument("code", variables)).casefold())
                discount = self.codes.get(held) if held else None
            return _project({"__typename": "DiscountCodeNode", "id": discount} if discount else None,
                            selection, variables, run)
        if selection.name == "codeDiscountNodes":
            return self._discounts(selection, variables, run)
        if selection.name == "codeDiscountNode":
            return self._discount_node(selection, variables, run)
        if selection.name == "job":
            with self.lock:
                job = self.jobs.get(str(selection.argument("id", variables)))
                if job is not None and not job["done"]:
                    self._run_deletion(job)
                public = {k: v for k, v in job.items() if not k.startswith("_")} if job else None
            return _project(public, selection, variables, run)
        with self.lock:
            creation = self.creations.get(str(selection.argument("id", variables)))
            if creation is not None and not creation["done"]:
                self._run_creation(creation)
            public = {k: v for k, v in creation.items() if not k.startswith("_")} if creation else None
        return _project(public, selection, variables, run)

    def _checkouts(self, selection: Selection, variables: dict[str, Any], run: _Run) -> dict[str, Any]:
        search = selection.argument("query", variables) or ""
        low, high, high_inclusive = _search_bounds(search)
        wanted = {int(t.split(":", 1)[1]) for t in search.split() if t.startswith("id:") and t[3:].isdigit()}
        with self.lock:
            found = []
            for number in sorted(self.checkouts):
                checkout = self.checkouts[number]
                moment = epoch_us(datetime.fromisoformat(checkout["updatedAt"].replace("Z", "")))
                if (wanted and number not in wanted) or (low is not None and moment < low) or (
                        high is not None and (moment > high if high_inclusive else moment >= high)):
                    continue
                found.append(checkout)
        first = _page_size(selection, variables)
        start = _start_after([c["id"] for c in found], selection, variables)
        page = [{k: v for k, v in c.items() if not k.startswith("_")} for c in found[start:start + first]]
        cursors = [encode_cursor({"id": int(c["id"].rsplit("/", 1)[1])}) for c in page]
        info = {"hasNextPage": start + first < len(found), "hasPreviousPage": start > 0,
                "startCursor": cursors[0] if cursors else None, "endCursor": cursors[-1] if cursors else None}
        return _project_page(page, cursors, info, selection, variables, run)

    def _discounts(self, selection: Selection, variables: dict[str, Any], run: _Run) -> dict[str, Any]:
        """Code discounts whose title matches the search: a ``title:`` term exactly (case-insensitive), other
        words as parts of the title."""
        search = str(selection.argument("query", variables) or "")
        exact = [(m.group(1) if m.group(1) is not None else m.group(2)).replace('\\"', '"').replace("\\\\", "\\")
                 for m in _TITLE_TERM.finditer(search)]
        words = _TITLE_TERM.sub(" ", search).split()
        with self.lock:
            found = [(discount_id, d) for discount_id, d in self.discounts.items()
                     if all(d["title"].casefold() == t.casefold() for t in exact)
                     and all(w.casefold() in d["title"].casefold() for w in words)]
        first = _page_size(selection, variables)
        nodes = [self._node(discount_id, d, None) for discount_id, d in found[:first]]
        cursors = [encode_cursor({"id": discount_id}) for discount_id, _ in found[:first]]
        info = {"hasNextPage": len(found) > first, "hasPreviousPage": False,
                "startCursor": cursors[0] if cursors else None, "endCursor": cursors[-1] if cursors else None}
        return _project_page(nodes, cursors, info, selection, variables, run)

    def _discount_node(self, selection: Selection, variables: dict[str, Any], run: _Run) -> Any:
        with self.lock:
            discount_id = str(selection.argument("id", variables))
            discount = self.discounts.get(discount_id)
            if discount is None:
                return None
            codes = next((c for s in selection.fields() if s.name == "codeDiscount"
                          for c in s.fields() if c.name == "codes"), None)
            node = self._node(discount_id, discount, self._codes_page(discount, codes, variables) if codes else None)
        return _project(node, selection, variables, run)

    def _node(self, discount_id: str, discount: dict[str, Any], codes: dict[str, Any] | None) -> dict[str, Any]:
        basic: dict[str, Any] = {"__typename": "DiscountCodeBasic", "title": discount["title"]}
        if codes is not None:
            basic["codes"] = codes
        return {"__typename": "DiscountCodeNode", "id": discount_id, "codeDiscount": basic}

    @staticmethod
    def _codes_page(discount: dict[str, Any], selection: Selection, variables: dict[str, Any]) -> dict[str, Any]:
        """One page of a discount's redeem codes in id order, following ``after``."""
        ordered = sorted(discount["codes"].items(), key=lambda item: _gid_number(item[1]))
        start = _start_after([rid for _, rid in ordered], selection, variables)
        page = ordered[start:start + _page_size(selection, variables)]
        nodes = [{"__typename": "DiscountRedeemCode", "id": rid, "code": code, "asyncUsageCount": 0}
                 for code, rid in page]
        cursors = [encode_cursor({"id": int(rid.rsplit("/", 1)[1])}) for _, rid in page]
        return {"__typename": "DiscountRedeemCodeConnection", "nodes": nodes,
                "edges": [{"__typename": "DiscountRedeemCodeEdge", "node": n, "cursor": c}
                          for n, c in zip(nodes, cursors, strict=True)],
                "pageInfo": {"__typename": "PageInfo", "hasNextPage": start + len(page) < len(ordered),
                             "hasPreviousPage": start > 0, "startCursor": cursors[0] if cursors else None,
                             "endCursor": cursors[-1] if cursors else None}}

    # ---- mutations -----------------------------------------------------------------------------------------
    def _mutation(self, selection: Selection, variables: dict[str, Any]) -> dict[str, Any]:
        if selection.name == "discountCodeBasicCreate":
            return self._create_discount(selection.argument("basicCodeDiscount", variables) or {})
        if selection.name == "discountCodeRedeemCodeBulkDelete":
            return self._delete_codes(str(selection.argument("discountId", variables)),
                                      [str(i) for i in selection.argument("ids", variables) or []])
        discount_id = str(selection.argument("discountId", variables))
        codes = [str((c or {}).get("code") or "") for c in selection.argument("codes", variables) or []]
        if len(codes) > MAX_CODES:
            raise QueryError(f"The input array size of {len(codes)} is greater than the maximum allowed of "
                             f"{MAX_CODES}.", "MAX_INPUT_SIZE_EXCEEDED")
        with self.lock:
            if discount_id not in self.discounts:
                return {"__typename": "DiscountRedeemCodeBulkAddPayload", "bulkCreation": None, "userErrors": [
                    {"__typename": "DiscountUserError", "field": ["discountId"],
                     "message": "Code discount does not exist.", "code": "INVALID"}]}
            creation_id = f"gid://shopify/DiscountRedeemCodeBulkCreation/{next(self._ids)}"
            self.creations[creation_id] = {
                "__typename": "DiscountRedeemCodeBulkCreation", "id": creation_id, "done": False,
                "codesCount": len(codes), "importedCount": 0, "failedCount": 0, "codes": Connection(),
                "createdAt": iso_z(_now()), "_discount": discount_id, "_pending": codes}
            return {"__typename": "DiscountRedeemCodeBulkAddPayload", "userErrors": [],
                    "bulkCreation": {k: v for k, v in self.creations[creation_id].items() if not k.startswith("_")}}

    def _create_discount(self, discount: dict[str, Any]) -> dict[str, Any]:
        code = str(discount.get("code") or "")
        value = ((discount.get("customerGets") or {}).get("value")) or {}
        problems: list[dict[str, Any]] = []
        if not discount.get("title"):
            problems.append(_user_error(["basicCodeDiscount", "title"], "Title can't be blank", "BLANK"))
        shape = _code_problem(code, ["basicCodeDiscount", "code"])
        if shape:
            problems.append(shape)
        if not discount.get("startsAt"):
            problems.append(_user_error(["basicCodeDiscount", "startsAt"], "Starts at can't be blank", "BLANK"))
        percentage = value.get("percentage")
        if percentage is not None and not 0 < float(percentage) <= 1:
            problems.append(_user_error(["basicCodeDiscount", "customerGets", "value", "percentage"],
                                        "Value must be between 0.0 and 1.0", "VALUE_OUTSIDE_RANGE"))
        if percentage is None and not (value.get("discountAmount") or {}).get("amount"):
            problems.append(_user_error(["basicCodeDiscount", "customerGets", "value"], "Value can't be blank",
                                        "BLANK"))
        with self.lock:
            if code.casefold() in self.folded:
                problems.append(_user_error(["basicCodeDiscount", "code"],
                                            "Code must be unique. Please try a different code.", "TAKEN"))
            if problems:
                return {"__typename": "DiscountCodeBasicCreatePayload", "codeDiscountNode": None,
                        "userErrors": problems}
            discount_id = f"gid://shopify/DiscountCodeNode/{next(self._ids)}"
            self.discounts[discount_id] = {
                "title": discount["title"], "startsAt": discount.get("startsAt"), "endsAt": discount.get("endsAt"),
                "usageLimit": discount.get("usageLimit"), "value": value, "codes": {},
                "appliesOncePerCustomer": bool(discount.get("appliesOncePerCustomer")),
                "minimumRequirement": discount.get("minimumRequirement"), "combinesWith": discount.get("combinesWith")}
            self._hold(code, discount_id)
        return {"__typename": "DiscountCodeBasicCreatePayload", "userErrors": [],
                "codeDiscountNode": {"__typename": "DiscountCodeNode", "id": discount_id}}

    def _hold(self, code: str, discount_id: str) -> str:
        """Give ``code`` to the discount; its new DiscountRedeemCode id."""
        redeem_id = f"gid://shopify/DiscountRedeemCode/{next(self._ids)}"
        self.codes[code] = discount_id
        self.folded[code.casefold()] = code
        self.discounts[discount_id]["codes"][code] = redeem_id
        return redeem_id

    def _delete_codes(self, discount_id: str, ids: list[str]) -> dict[str, Any]:
        if len(ids) > MAX_CODES:
            raise QueryError(f"The input array size of {len(ids)} is greater than the maximum allowed of "
                             f"{MAX_CODES}.", "MAX_INPUT_SIZE_EXCEEDED")
        problems = []
        with self.lock:
            if discount_id not in self.discounts:
                problems.append(_user_error(["discountId"], "Code discount does not exist.", "INVALID"))
            elif not ids:
                problems.append(_user_error(["ids"], "Specify the codes to delete.", "MISSING_ARGUMENT"))
            if problems:
                return {"__typename": "DiscountCodeRedeemCodeBulkDeletePayload", "job": None, "userErrors": problems}
            job_id = f"gid://shopify/Job/{next(self._ids)}"
            self.jobs[job_id] = {"__typename": "Job", "id": job_id, "done": False, "_discount": discount_id,
                                 "_ids": set(ids)}
            return {"__typename": "DiscountCodeRedeemCodeBulkDeletePayload", "userErrors": [],
                    "job": {"__typename": "Job", "id": job_id, "done": False}}

    def _run_deletion(self, job: dict[str, Any]) -> None:
        """The codes of a bulk deletion, deleted on the job's first read (the mutation itself only queues them)."""
        held = self.discounts.get(job["_discount"], {}).get("codes", {})
        ids = job.pop("_ids")
        for code in [c for c, rid in held.items() if rid in ids]:
            del held[code]
            self.codes.pop(code, None)
            self.folded.pop(code.casefold(), None)
        job["done"] = True

    def _run_creation(self, creation: dict[str, Any]) -> None:
        """The codes of a bulk creation, created on its first read (the mutation itself only queues them)."""
        discount_id = creation["_discount"]
        for code in creation.pop("_pending"):
            errors = []
            shape = _code_problem(code, ["code"])
            if shape:
                errors.append(shape)
            elif code.casefold() in self.folded:
                errors.append(_user_error(["code"], "Code must be unique. Please try a different code.", "TAKEN"))
            elif self.failing_codes > 0:
                self.failing_codes -= 1
                errors.append(_user_error(["code"], "Code could not be created.", "INTERNAL_ERROR"))
            node = None
            if not errors:
                node = {"__typename": "DiscountRedeemCode", "id": self._hold(code, discount_id), "code": code}
            creation["codes"].append({"__typename": "DiscountRedeemCodeBulkCreationCode", "code": code,
                                      "errors": errors, "discountRedeemCode": node})
        creation["importedCount"] = sum(c["discountRedeemCode"] is not None for c in creation["codes"])
        creation["failedCount"] = len(creation["codes"]) - creation["importedCount"]
        creation["done"] = True


EMULATOR = ShopifyCheckoutsEmulator
