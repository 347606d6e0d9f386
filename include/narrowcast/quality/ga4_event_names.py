"""GA4 event names the pipeline knows: automatically collected, enhanced measurement and recommended e-commerce
events. A custom event must be added here (or it is quarantined by ``known_event_name:event_name``) so that a
typo in a tag never silently creates a new funnel step."""

from __future__ import annotations

KNOWN_GA4_EVENT_NAMES: frozenset[str] = frozenset(
    {
        # automatically collected
        "first_visit", "session_start", "user_engagement", "page_view", "first_open", "app_remove",
        # enhanced measurement
        "scroll", "click", "view_search_results", "file_download", "form_start", "form_submit",
        "video_start", "video_progress", "video_complete",
        # recommended: all properties
        "login", "sign_up", "search", "share", "select_content", "generate_lead",
        # recommended: e-commerce
        "view_item_list", "select_item", "view_item", "add_to_wishlist", "add_to_cart", "remove_from_cart",
        "view_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase", "refund",
        "view_promotion", "select_promotion",
    }
)
