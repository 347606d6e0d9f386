"""The one pagination loop against a fake HTTP layer: empty, one page, many pages, and each page style."""

from __future__ import annotations

import pytest
from fake_http import FakeSession, reply

from narrowcast.http import HttpClient
from narrowcast.http.pagination import BodyCursor, LinkHeaderCursor, NextHref, paginate

LINK = LinkHeaderCursor(param="page_info", carry=("limit",))
CURSOR = BodyCursor(cursor=("paging", "cursors", "after"), param="after", more=("paging", "next"))
TOKEN = BodyCursor(cursor=("payload", "NextToken"), param="NextToken", carry=("MarketplaceIds",))
HREF = NextHref(href=("next",), items=("orders",))


def client(session: FakeSession) -> HttpClient:
    return HttpClient("https://api.example", session=session, sleep=lambda s: None)


def pages(session: FakeSession, style, params=None) -> list:
    return [page.json() for page in paginate(client(session), "v1/items", params, style)]


def link(cursor: str, rel: str = "next") -> dict[str, str]:
    return {"Link": f'<https://api.example/v1/items?limit=2&page_info={cursor}>; rel="{rel}"'}


@pytest.mark.parametrize("style", [
    pytest.param(LINK, id="a page without a Link header"),
    pytest.param(CURSOR, id="a page without a cursor"),
    pytest.param(TOKEN, id="a page without a next token"),
    pytest.param(HREF, id="a page without a next href"),
])
def test_an_empty_answer_is_one_request_and_one_empty_page(style):
    session = FakeSession(reply(body={}))
    assert pages(session, style, {"q": "x"}) == [{}]
    assert len(session.sent) == 1 and session.sent[0].query == {"q": "x"}


def test_a_single_page_is_fetched_once_with_the_first_requests_parameters():
    session = FakeSession(reply(body={"data": [1, 2], "paging": {"cursors": {"after": "c1"}}}))
    # Graph keeps the cursors on the last page but leaves out paging.next.
    assert pages(session, CURSOR, {"limit": 2}) == [{"data": [1, 2], "paging": {"cursors": {"after": "c1"}}}]
    assert [(s.path, s.query) for s in session.sent] == [("/v1/items", {"limit": "2"})]


def test_link_header_pages_send_the_cursor_and_the_carried_parameters_only():
    # GIVEN three pages linked by rel="next", the middle one also naming the previous page
    session = FakeSession(
        reply(body={"n": 1}, headers=link("c2")),
        reply(body={"n": 2}, headers={"Link": f'{link("c1", "previous")["Link"]}, {link("c3")["Link"]}'}),
        reply(body={"n": 3}, headers=link("c2", "previous")),
    )
    # WHEN every page is read
    got = pages(session, LINK, {"status": "any", "limit": 2})
    # THEN filters go on the first request only and every page arrives once, in order
    assert got == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [s.query for s in session.sent] == [{"status": "any", "limit": "2"}, {"page_info": "c2", "limit": "2"},
                                               {"page_info": "c3", "limit": "2"}]
    assert {s.path for s in session.sent} == {"/v1/items"}


def test_body_cursor_pages_keep_every_first_parameter_and_stop_when_next_is_absent():
    session = FakeSession(
        reply(body={"data": [1], "paging": {"cursors": {"after": "a1"}, "next": "https://api.example/..."}}),
        reply(body={"data": [2], "paging": {"cursors": {"after": "a2"}, "next": "https://api.example/..."}}),
        reply(body={"data": [3], "paging": {"cursors": {"after": "a3"}}}),
    )
    got = pages(session, CURSOR, {"level": "campaign", "limit": 1})
    assert [p["data"] for p in got] == [[1], [2], [3]]
    assert [s.query for s in session.sent] == [{"level": "campaign", "limit": "1"},
                                               {"level": "campaign", "limit": "1", "after": "a1"},
                                               {"level": "campaign", "limit": "1", "after": "a2"}]


def test_next_token_pages_replace_the_filters_but_carry_the_named_ones():
    session = FakeSession(reply(body={"payload": {"Orders": [1], "NextToken": "t/2=="}}),
                          reply(body={"payload": {"Orders": [2]}}))
    got = pages(session, TOKEN, {"MarketplaceIds": "M1", "LastUpdatedAfter": "2024-03-01T00:00:00Z"})
    assert [p["payload"]["Orders"] for p in got] == [[1], [2]]
    assert [s.query for s in session.sent] == [{"MarketplaceIds": "M1", "LastUpdatedAfter": "2024-03-01T00:00:00Z"},
                                               {"MarketplaceIds": "M1", "NextToken": "t/2=="}]


def test_next_href_pages_follow_the_url_as_given_until_a_page_has_no_items():
    # GIVEN a second page that still names a next href but holds no orders
    session = FakeSession(
        reply(body={"orders": [1], "next": "https://api.example/v1/items?limit=1&offset=1"}),
        reply(body={"orders": [], "next": "https://api.example/v1/items?limit=1&offset=2"}),
    )
    got = pages(session, HREF, {"limit": 1, "offset": 0})
    # THEN the href is requested with no parameters added, and the empty page ends the loop
    assert [p["orders"] for p in got] == [[1], []]
    assert session.sent[1].url == "https://api.example/v1/items?limit=1&offset=1"
    assert session.sent[1].params == {}


def test_a_page_is_decoded_once_for_the_caller_and_the_style():
    session = FakeSession(reply(body={"payload": {"NextToken": None}}))
    page = next(paginate(client(session), "v1/items", None, TOKEN))
    assert page.json() is page.json()
    assert page.number == 1 and page.request.path_or_url == "v1/items"


def test_the_caller_can_refuse_a_page_before_the_style_reads_it():
    session = FakeSession(reply(body=b"<html>maintenance</html>"))
    with pytest.raises(ValueError):
        for page in paginate(client(session), "v1/items", None, CURSOR):
            page.json()
    assert len(session.sent) == 1
