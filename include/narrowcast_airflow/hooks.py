"""Airflow hooks behind the connection types ``narrowcast_<service>``: their ``test_connection`` is the UI's
"Test" button, and it runs ``narrowcast doctor``'s check of that service (:mod:`narrowcast.doctor`).

Airflow tests a connection under a random, transient connection id, so the service to check comes from the
connection type, which is named after the connection id the doctor knows the service by.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from narrowcast.apis import amazon, data_manager, ebay, etsy, google_ads, klaviyo, meta, shopify
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.redaction import SECRET_MASK, redact


class NarrowcastHook(BaseHook):
    """One Narrowcast API connection; subclasses name the service by their ``conn_type``."""

    conn_name_attr = "narrowcast_conn_id"
    conn_type = ""
    hook_name = "Narrowcast"

    def __init__(self, narrowcast_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.narrowcast_conn_id = narrowcast_conn_id or self.conn_type

    def test_connection(self) -> tuple[bool, str]:
        """The doctor's verdict on this connection: ``(no problem found, one line naming what was found)``."""
        from narrowcast.doctor import diagnose

        airflow_conn = self.get_connection(self.narrowcast_conn_id)
        host = airflow_conn.host or ""
        # Without a scheme the token would go to http://; the doctor's connections always carry the full URL.
        if "://" not in host:
            return False, f"set host to the API's full URL, e.g. https://{host or 'api.example.com'}"
        conn = Connection(self.conn_type, host.rstrip("/"), airflow_conn.login, airflow_conn.password,
                          dict(airflow_conn.extra_dejson or {}))
        diagnosis = diagnose(conn)
        message = f"{diagnosis.status}: " + "; ".join(diagnosis.problems + diagnosis.warnings + diagnosis.notes)
        return not diagnosis.problems, _without_secrets(message, conn)


def _without_secrets(message: str, conn: Connection) -> str:
    """The doctor never prints a credential; an API's error text quoting one is masked here all the same."""
    secrets = [conn.password] + [value for key, value in conn.extra.items()
                                 if isinstance(value, str) and key.endswith(("token", "secret"))]
    for secret in secrets:
        if secret and len(secret) >= 4:
            message = message.replace(secret, SECRET_MASK)
    return redact(message)


class NarrowcastShopifyHook(NarrowcastHook):
    conn_type = shopify.CONNECTION_ID
    hook_name = "Narrowcast: Shopify Admin API"


class NarrowcastMetaHook(NarrowcastHook):
    conn_type = meta.CONNECTION_ID
    hook_name = "Narrowcast: Meta Graph API"


class NarrowcastGoogleAdsHook(NarrowcastHook):
    conn_type = google_ads.CONNECTION_ID
    hook_name = "Narrowcast: Google Ads API"


class NarrowcastEbayHook(NarrowcastHook):
    conn_type = ebay.CONNECTION_ID
    hook_name = "Narrowcast: eBay Sell APIs"


class NarrowcastAmazonHook(NarrowcastHook):
    conn_type = amazon.CONNECTION_ID
    hook_name = "Narrowcast: Amazon Selling Partner API"


class NarrowcastEtsyHook(NarrowcastHook):
    conn_type = etsy.CONNECTION_ID
    hook_name = "Narrowcast: Etsy Open API v3"


class NarrowcastKlaviyoHook(NarrowcastHook):
    conn_type = klaviyo.CONNECTION_ID
    hook_name = "Narrowcast: Klaviyo API"


class NarrowcastGoogleDataManagerHook(NarrowcastHook):
    conn_type = data_manager.CONNECTION_ID
    hook_name = "Narrowcast: Google Data Manager API"


# Every service the doctor checks, by connection type (the provider registers exactly these).
HOOKS: dict[str, type[NarrowcastHook]] = {
    hook.conn_type: hook
    for hook in (NarrowcastShopifyHook, NarrowcastMetaHook, NarrowcastGoogleAdsHook, NarrowcastEbayHook,
                 NarrowcastAmazonHook, NarrowcastEtsyHook, NarrowcastKlaviyoHook, NarrowcastGoogleDataManagerHook)
}
