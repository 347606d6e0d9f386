"""European Central Bank source: the daily euro foreign exchange reference rates, into ``raw.fx_rates``.

Connection ``narrowcast_ecb``: ``base_url`` = ``https://www.ecb.europa.eu/stats/eurofxref`` (sandbox
``http://127.0.0.1:<port>/ecb``), nothing else (the files are public). See ``narrowcast.apis.ecb``.
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["extract"]
__getattr__ = lazy_exports(__name__, {"extract": "extract"})
