"""Meta Marketing API Insights source: daily spend, clicks and purchases per campaign.

Connection ``narrowcast_meta``: ``base_url`` = ``https://graph.facebook.com`` (sandbox
``http://127.0.0.1:<port>/meta``), ``password`` = the access token (system-user token recommended), extra
``ad_account_id`` (digits, with or without ``act_``) and ``api_version`` (default in ``narrowcast.apis.versions``).
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "MetaClient"]
__getattr__ = lazy_exports(__name__, {"MetaClient": "client", "ENTITIES": "extract", "extract": "extract"})
