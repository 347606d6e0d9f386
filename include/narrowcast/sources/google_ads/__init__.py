"""Google Ads API source: daily campaign stats (impressions, clicks, cost_micros, conversions) via GAQL.

Connection ``narrowcast_google_ads``: ``base_url`` = ``https://googleads.googleapis.com`` (sandbox
``http://127.0.0.1:<port>/google_ads``), ``password`` = an OAuth 2 access token (``Authorization: Bearer``),
extra ``developer_token``, ``customer_id`` (the account to report on), optional ``login_customer_id`` (the
manager account, when access goes through one) and ``api_version`` (default in ``narrowcast.apis.versions``).
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "GoogleAdsClient"]
__getattr__ = lazy_exports(__name__, {"GoogleAdsClient": "client", "ENTITIES": "extract", "extract": "extract"})
