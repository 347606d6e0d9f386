"""Meta Insights source client: daily campaign insights of one ad account, page by page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from narrowcast.apis.meta import PAGES, GraphApi
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate
from narrowcast.sources.meta_ads.settings import INSIGHT_FIELDS, PAGE_LIMIT


class MetaClient(GraphApi):
    """Graph API for one ad account (``base_url`` e.g. ``https://graph.facebook.com``)."""

    def insights(self, account_id: str, since: date, until: date) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Daily campaign insights of ``act_{account_id}`` for ``since..until`` (inclusive), page by page."""
        path = f"{self.api_version}/act_{account_id}/insights"
        params: dict[str, Any] = {
            "level": "campaign",
            "time_increment": 1,
            "fields": ",".join(INSIGHT_FIELDS),
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()},
                                     separators=(",", ":")),
            "limit": PAGE_LIMIT,
        }
        for page in paginate(self, path, params, PAGES):
            ref = f"GET /{path} page {page.number}"
            try:
                rows = page.json()["data"]
            except (ValueError, KeyError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                    f"{ref}: response has no 'data' list") from exc
            yield rows, ref
