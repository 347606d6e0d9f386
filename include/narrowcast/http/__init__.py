"""The one HTTP client base every source connector and destination is built on."""

from narrowcast.http.client import (
    ApiError,
    FatalApiError,
    HttpClient,
    RetriableApiError,
    RetryPolicy,
)
from narrowcast.http.rate_limit import TokenBucket

__all__ = [
    "ApiError",
    "FatalApiError",
    "HttpClient",
    "RetriableApiError",
    "RetryPolicy",
    "TokenBucket",
]
