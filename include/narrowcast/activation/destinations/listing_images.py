"""The image URLs of one ``marketplace_listing_content`` row as the listing destinations hand them to an API.

The mart writes ``image_urls`` as text with the URLs separated by ``|`` (the first is the main image); a
warehouse or a test may hand over a list instead.
"""

from __future__ import annotations

from typing import Any


def image_urls(value: Any) -> list[str]:
    """The row's image URLs in order, blanks dropped."""
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return [part.strip() for part in str(value or "").split("|") if part.strip()]
