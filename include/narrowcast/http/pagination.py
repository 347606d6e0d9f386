"""The one pagination loop, and the page styles the external APIs use.

:func:`paginate` sends the first request, hands each page to the caller and asks the style for the next
request. A style reads the page it was given: a cursor in the ``Link`` header (:class:`LinkHeaderCursor`), a
cursor or next-token in the body (:class:`BodyCursor`), or the next page's whole URL in the body
(:class:`NextHref`). The caller validates each page's body before the style reads it, so a malformed page
fails with the caller's message, naming the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import requests

from narrowcast.http.client import HttpClient

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_UNREAD = object()


@dataclass(frozen=True)
class PageRequest:
    """One page's request: a path under the client's base URL (or a whole URL) and its query parameters."""

    path_or_url: str
    params: Mapping[str, Any] | None = None


@dataclass
class FetchedPage:
    """A page as answered: its 1-based ``number``, the request that fetched it and the response."""

    number: int
    request: PageRequest
    response: requests.Response
    _body: Any = field(default=_UNREAD, repr=False)

    def json(self) -> Any:
        """The decoded body, decoded once however often caller and style ask (``ValueError`` if not JSON)."""
        if self._body is _UNREAD:
            self._body = self.response.json()
        return self._body


class PageStyle(Protocol):
    def next_request(self, page: FetchedPage, first: PageRequest) -> PageRequest | None:
        """The request for the page after ``page`` (``first`` is the loop's first request), or None at the end."""


def paginate(client: HttpClient, path: str, params: Mapping[str, Any] | None, style: PageStyle, *,
             method: str = "GET") -> Iterator[FetchedPage]:
    """Every page of ``path``, fetched one after the other through ``client`` (retries, limits and auth apply)."""
    first = PageRequest(path, params)
    request: PageRequest | None = first
    number = 0
    while request is not None:
        number += 1
        page = FetchedPage(number, request, client.request(method, request.path_or_url, params=request.params))
        yield page
        request = style.next_request(page, first)


def dig(body: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested objects, or None where any step is missing."""
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


def _carried(first: PageRequest, carry: tuple[str, ...] | None) -> dict[str, Any]:
    params = dict(first.params or {})
    return params if carry is None else {k: params[k] for k in carry if k in params}


@dataclass(frozen=True)
class LinkHeaderCursor:
    """``Link: <...>; rel="next"`` (RFC 8288, Shopify REST): the next request sends the next link's ``param``
    cursor followed by the ``carry`` parameters of the first request (filters may not travel with a cursor)."""

    param: str
    carry: tuple[str, ...] = ()

    def next_request(self, page: FetchedPage, first: PageRequest) -> PageRequest | None:
        cursor = next_link_param(page.response.headers.get("Link"), self.param)
        if cursor is None:
            return None
        return PageRequest(first.path_or_url, {self.param: cursor, **_carried(first, self.carry)})


def next_link_param(link_header: str | None, param: str) -> str | None:
    """The ``param`` query value of the ``rel="next"`` link, or None on the last page."""
    if not link_header:
        return None
    match = _NEXT_LINK.search(link_header)
    if not match:
        return None
    values = parse_qs(urlsplit(match.group(1)).query).get(param)
    return values[0] if values else None


@dataclass(frozen=True)
class BodyCursor:
    """A cursor in the body at ``cursor`` (Graph ``paging.cursors.after``, SP-API ``payload.NextToken``), sent
    back as ``param`` after the ``carry`` parameters of the first request (None: all of them).

    ``more``: a body field whose absence marks the last page although a cursor is present (Graph leaves out
    ``paging.next`` but keeps the cursors).
    """

    cursor: tuple[str, ...]
    param: str
    carry: tuple[str, ...] | None = None
    more: tuple[str, ...] | None = None

    def next_request(self, page: FetchedPage, first: PageRequest) -> PageRequest | None:
        body = page.json()
        cursor = dig(body, self.cursor)
        if not cursor or (self.more is not None and not dig(body, self.more)):
            return None
        return PageRequest(first.path_or_url, {**_carried(first, self.carry), self.param: cursor})


@dataclass(frozen=True)
class NextHref:
    """The next page's whole URL in the body at ``href`` (eBay ``next``, JSON:API ``links.next``); the URL
    carries every parameter, so none are added.

    ``items``: the page's list of items; an empty one ends the loop even if a next URL is given.
    """

    href: tuple[str, ...]
    items: tuple[str, ...] | None = None

    def next_request(self, page: FetchedPage, first: PageRequest) -> PageRequest | None:
        body = page.json()
        url = dig(body, self.href)
        if not url or (self.items is not None and not dig(body, self.items)):
            return None
        return PageRequest(str(url))
