"""Meta Marketing API campaign metadata: each campaign's objective and its ad sets' custom-audience targeting.

Same connection as the Insights source (``narrowcast_meta``: ``base_url``, ``password`` = the access token, extra
``ad_account_id`` and optional ``api_version``). Campaigns and ad sets created or changed in the window are read
(``filtering`` on ``updated_time``), plus every active one, and merged on their id.
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract"]
__getattr__ = lazy_exports(__name__, {"ENTITIES": "extract", "extract": "extract"})
