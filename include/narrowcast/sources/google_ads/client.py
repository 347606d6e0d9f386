"""Google Ads source client: GAQL reports through ``GoogleAdsService.SearchStream``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrowcast.apis.google_ads import GoogleAdsApi
from narrowcast.http import FatalApiError


class GoogleAdsClient(GoogleAdsApi):
    """GoogleAdsService over REST (``base_url`` e.g. ``https://googleads.googleapis.com``)."""

    def search_stream(self, customer_id: str, query: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Every batch of a GAQL ``searchStream`` call as (results, source_ref)."""
        path = self.customer_path(customer_id, "googleAds:searchStream")
        response = self.request("POST", path, json={"query": query})
        try:
            batches = response.json()
            if isinstance(batches, dict):  # a single batch sent without the array
                batches = [batches]
            for batch in batches:
                if not isinstance(batch, dict):
                    raise TypeError(f"batch is {type(batch).__name__}")
        except (ValueError, TypeError) as exc:
            raise FatalApiError(self.api_name, "POST", response.url, response.status_code,
                                f"POST /{path}: response is not an array of batches ({exc})") from exc
        for number, batch in enumerate(batches, start=1):
            yield batch.get("results") or [], f"POST /{path} batch {number}"
