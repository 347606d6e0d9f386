"""The one HTTP client base every external API module is built on: requests, retries, auth, pagination."""

from narrowcast.http.auth import Auth, RefreshingAuth, TokenRefreshError, bearer_or_refresh
from narrowcast.http.client import (
    ApiError,
    FatalApiError,
    HttpClient,
    OutcomeUnknownApiError,
    RetriableApiError,
    RetryPolicy,
    VersionedApi,
    connection_options,
)
from narrowcast.http.rate_limit import TokenBucket

__all__ = [
    "ApiError",
    "Auth",
    "FatalApiError",
    "HttpClient",
    "OutcomeUnknownApiError",
    "RetriableApiError",
    "RefreshingAuth",
    "RetryPolicy",
    "TokenBucket",
    "TokenRefreshError",
    "VersionedApi",
    "bearer_or_refresh",
    "connection_options",
]
