"""European Central Bank euro foreign exchange reference rates: where the published files live and how to fetch them.

Connection ``narrowcast_ecb``: ``base_url`` = ``https://www.ecb.europa.eu/stats/eurofxref`` (sandbox
``http://127.0.0.1:<port>/ecb``); no authentication. The ECB page "Euro foreign exchange reference rates"
(ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates) publishes, updated around 16:00 CET
on every TARGET working day: the day's rates (``eurofxref-daily.xml``), the last 90 days
(``eurofxref-hist-90d.xml``, same XML) and the whole history since 4 January 1999 (``eurofxref-hist.zip``
holding ``eurofxref-hist.csv``). They are static files: errors are plain HTTP statuses without an envelope.
"""

from __future__ import annotations

import io
import zipfile

from narrowcast.http import FatalApiError, HttpClient

CONNECTION_ID = "narrowcast_ecb"
DAILY_XML = "eurofxref-daily.xml"
LAST_90_DAYS_XML = "eurofxref-hist-90d.xml"
HISTORY_ZIP = "eurofxref-hist.zip"
HISTORY_CSV = "eurofxref-hist.csv"
# The 90-day file holds the last 90 calendar days' working days; a window reaching further back needs the history.
LAST_90_DAYS_SPAN = 90


class EcbApi(HttpClient):
    """The ECB's published reference-rate files."""

    api_name = "ecb"
    default_base_url = "https://www.ecb.europa.eu/stats/eurofxref"

    def xml(self, name: str) -> tuple[bytes, str]:
        """One of the XML files (``DAILY_XML`` or ``LAST_90_DAYS_XML``) as bytes, with its source ref."""
        return self.request("GET", name).content, f"GET /{name}"

    def history_csv(self) -> tuple[bytes, str]:
        """The whole history since 1999: the CSV inside ``eurofxref-hist.zip``, with its source ref."""
        response = self.request("GET", HISTORY_ZIP)
        try:
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                return archive.read(HISTORY_CSV), f"GET /{HISTORY_ZIP} {HISTORY_CSV}"
        except (zipfile.BadZipFile, KeyError) as exc:
            raise FatalApiError(self.api_name, "GET", response.url, response.status_code,
                                f"{HISTORY_ZIP} is not a zip holding {HISTORY_CSV} ({exc})") from exc
