"""Google Ads campaign metadata via GAQL: channel type and sub-type, bidding strategy, audience (user list) criteria.

Same connection as the campaign-stats source (``narrowcast_google_ads``). The ``campaign`` resource carries no
modification time, so each run reads every campaign of the account (one short stream; an account holds at most
a few thousand) and merges on the campaign id.
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract"]
__getattr__ = lazy_exports(__name__, {"ENTITIES": "extract", "extract": "extract"})
