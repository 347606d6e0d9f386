"""A logging filter that keeps raw e-mail addresses, phone numbers and secrets out of every log line.

Installed on the ``narrowcast.activation`` logger by the engine, so connectors cannot leak PII by accident
(an API error message that quotes a rejected e-mail, a URL carrying an access token).
"""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Phone-like runs: optional +, then 7+ digits possibly separated by spaces, dots, dashes or brackets.
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().\-]{6,}\d(?![\w])")
_SECRET = re.compile(
    r"(access_token|token|api[_-]?key|secret|password|authorization|klaviyo-api-key|bearer)([\"']?\s*[:=]\s*[\"']?|\s+)"
    r"[^\s&\"',}]+",
    re.IGNORECASE,
)


# An Authorization header value has a scheme and a credential ("Bearer x", "Klaviyo-API-Key x"): mask both.
_AUTH_HEADER = re.compile(r"(authorization[\"']?\s*[:=]\s*)[\"']?[^\n\"',}]+", re.IGNORECASE)


def redact_text(text: str) -> str:
    """The text with e-mails, phone numbers and credential values masked."""
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}***", text)
    text = _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _EMAIL.sub("<email>", text)
    # 9+ digits: national and E.164 numbers, while short API error codes (e.g. "4000001") stay readable.
    return _PHONE.sub(lambda m: "<phone>" if sum(c.isdigit() for c in m.group(0)) >= 9 else m.group(0), text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message; arguments are folded in first so nothing escapes via ``args``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact_text(message)
        record.args = None
        return True


def get_logger(name: str) -> logging.Logger:
    """The named logger with the redacting filter attached (logger filters do not inherit, so each gets one)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


def install_on_http_client() -> None:
    """The shared HTTP client logs retried URLs; make sure those lines are redacted too."""
    get_logger("narrowcast.http.client")
    # urllib3 logs every request line at DEBUG, query string included.
    get_logger("urllib3.connectionpool")
