"""Redaction: the one place that decides what personal data and secrets look like, so none leave the process.

Every log line, stored error or rejection reason, alert and HTTP error goes through :func:`redact`; loggers that
may carry API text get :class:`RedactingFilter` through :func:`redacting_logger`.

What is masked: e-mail addresses (any script, internationalised and punycode domains, ``%40``-encoded), phone
numbers (E.164 and national formats), credentials (``Authorization`` headers, bearer/basic tokens, secret query
parameters and JSON/form fields, ``user:password@`` in URLs, vendor token shapes). What stays readable on purpose:
dates, ISO timestamps, money amounts, order numbers, SKUs, error codes and SHA-256 hex digests, because an
operator needs them to act on a message and none of them identify a person.
"""

from __future__ import annotations

import logging
import re

EMAIL_MASK = "<email>"
PHONE_MASK = "<phone>"
SECRET_MASK = "***"

# ---- credentials ------------------------------------------------------------------------------------------------

# Userinfo in a URL (``postgres://user:pw@db``, ``https://token@host``); the user name can be an e-mail or a key.
_URL_USERINFO = re.compile(r"(?P<scheme>(?<![\w+.\-])[a-z][a-z0-9+.\-]{0,30}://)(?P<userinfo>[^/\s@?#\"'<>]+)@", re.IGNORECASE)

# A credential value outside quotes: anything up to whitespace or the delimiter that ends a header, a query
# parameter, a form field or a JSON member.
_CREDENTIAL = r"[^\s&,;\"'{}\[\]()\\]+"

# The header keeps its scheme (``Bearer``, ``Klaviyo-API-Key``) so a reader still knows which auth was sent.
_SCHEMES = r"bearer|basic|digest|token|oauth|klaviyo-api-key|aws4-hmac-sha256|negotiate|ntlm"
_AUTH_HEADER = re.compile(
    rf"(?P<head>\b(?:proxy-)?authorization\\?[\"']?\s*[:=]\s*\\?[\"']?)(?P<scheme>(?:{_SCHEMES})\s+)?{_CREDENTIAL}",
    re.IGNORECASE,
)
# Outside a header a scheme word must be followed by something token-shaped: "Basic" and "bearer" are English
# words too ("basic plan", "bearer of"), real credentials are never that short.
_AUTH_SCHEME = re.compile(
    r"(?P<scheme>\b(?i:bearer|klaviyo-api-key)\s+)[\w\-.~+/|=%]{8,}|(?P<basic>\bBasic\s+)[A-Za-z0-9+/]{8,}={0,2}"
)

# Field names whose value is a secret, as a query parameter, form field, JSON member or header: anything ending in
# token/secret/password/signature/credential(s), and the key-like names. Pagination cursors end in "token" too but
# are neither secret nor personal, and a reader needs them to resume a pull: they are left alone.
_SECRET_NAME = (
    r"[\w.\-]*?(?:token|secret|password|passwd|pwd|signature|credentials?|hmac(?:[_\-]?sha256)?"
    r"|(?:api|private|secret|access|signing|client)[_\-]?key|apikey)"
    r"|(?<=[?&;#])(?:key|sig)"  # too common as JSON member names (metafield "key"): only as URL parameters
)
_PAGINATION_TOKEN = re.compile(r"(?:next|page|continuation|cursor|sync)[_\-.]?token$", re.IGNORECASE)
_SECRET_FIELD = re.compile(
    rf"(?<![\w.\-])(?P<name>{_SECRET_NAME})(?P<sep>\\?[\"']?\s*[:=]\s*)"
    r"(?P<value>\\\"(?:[^\"\\]|\\[^\"])*\\\"|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|" + _CREDENTIAL + ")",
    re.IGNORECASE,
)

# Vendor credentials recognisable by their shape wherever they appear: Shopify admin tokens and shared secrets,
# Klaviyo private keys, Stripe-style live/test keys, Amazon LWA access/refresh tokens, Meta access tokens, Google
# OAuth access tokens and API keys. The prefix stays so a reader knows which credential it was.
_VENDOR_TOKEN = re.compile(
    r"(?<![\w\-])(?:"
    r"(?P<shopify>shp(?:at|ca|pa|ss)_)[A-Za-z0-9]+"
    r"|(?P<stripe>[prs]k_(?:live|test)_)\w+"
    r"|(?P<klaviyo>pk_)[A-Za-z0-9]{16,}"  # 16+ alphanumerics: constraint names like pk_sync_state stay
    r"|(?P<lwa>Atz[ar]\|)[^\s\"',;&}\])\\]+"
    r"|(?P<meta>EAA)[A-Za-z0-9]{20,}"
    r"|(?P<google>ya29\.|AIza)[\w\-]{20,}"
    r")"
)

# ---- e-mail addresses -------------------------------------------------------------------------------------------

# Negated classes rather than \w so every script and its combining marks belong to the address (josé, 例え,
# उपयोगकर्ता); the delimiters are what surrounds an address in prose, JSON, headers and query strings. Lengths are
# RFC 5321's limits; starting only where a run of address characters starts keeps the scan linear on long
# tokens without any "@".
_LOCAL_CHAR = r"[^\s@<>()\[\]{}\"',;:=&/\\|?*“”„‘’«»‹›]"
_LABEL_CHAR = r"[^\s@.<>()\[\]{}\"',;:=&/\\|?%+*!#$^`~“”„‘’«»‹›]"
_EMAIL = re.compile(
    rf"(?<!{_LOCAL_CHAR}){_LOCAL_CHAR}{{1,64}}(?:@|%40)(?:{_LABEL_CHAR}{{1,63}}\.){{1,8}}[^\W\d_]{_LABEL_CHAR}{{1,62}}"
)

# ---- phone numbers ----------------------------------------------------------------------------------------------

# A phone number starts a token: not inside a word, a number, a decimal, an SKU ("SKU-0151..."), a path segment
# or a time ("10:05 ..."), so digit runs in hashes, ids, amounts and timestamps are never its start.
_PHONE_START = r"(?<![\w+#.,/\-@])(?<!\d:)"
# ... and ends one: a following digit, letter, decimal part, time or date part means the run is something else.
_PHONE_END = r"(?![\w]|[.,:/\-]\d)"
# A date at the start (05.11.2026, 01/25/26, 06.2026) is a date, not a national number with dots.
_NOT_A_DATE = r"(?!\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}(?![./\-]?\d)|\d{1,2}[./\-]\d{4}(?!\d))"
_SEP = r"(?:[ .\-/]|\s?\(|\)\s?)"
_PHONE = re.compile(
    _PHONE_START + _NOT_A_DATE + r"(?:"
    # International: +CC or 00CC (also %2B, a URL-encoded +), 8 to 16 digits with the usual separators and an
    # optional "(0)"; a timezone offset (+01:00) never qualifies because a country code cannot start with 0.
    rf"(?:\+|%2[Bb]|00)[1-9](?:{_SEP}?\d){{7,15}}"
    # National with a trunk 0 and separators: 0151 12345678, (030) 1234567, 06 12 34 56 78, 030/1234567.
    r"|(?:\(0\d{1,4}\)\s?|0[1-9]\d{0,4}(?:\s?/\s?|[ .\-]))\d(?:[ .\-/]?\d){4,11}"
    # National without separators: 10 to 12 digits, trunk 0 included (01511234567). A 12-digit UPC with a leading 0
    # has exactly this shape and is masked too: a leaked phone number costs more than a hidden product code.
    r"|0[1-9]\d{8,10}"
    # North American: 555-123-4567, (555) 123-4567, 1-800-555-0199 (area codes never start with 0 or 1).
    r"|(?:1[ .\-])?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}(?P<nanp>[ .\-]))\d{3}(?(nanp)(?P=nanp)|[ .\-])\d{4}"
    r")" + _PHONE_END
)


def _mask_userinfo(match: re.Match[str]) -> str:
    userinfo = SECRET_MASK + ":" + SECRET_MASK if ":" in match["userinfo"] else SECRET_MASK
    return f"{match['scheme']}{userinfo}@"


def _mask_auth_header(match: re.Match[str]) -> str:
    return f"{match['head']}{match['scheme'] or ''}{SECRET_MASK}"


def _mask_auth_scheme(match: re.Match[str]) -> str:
    return f"{match['scheme'] or match['basic']}{SECRET_MASK}"


def _mask_secret_field(match: re.Match[str]) -> str:
    if _PAGINATION_TOKEN.search(match["name"]):
        return match[0]
    value = match["value"]
    if value.startswith('\\"'):
        masked = f'\\"{SECRET_MASK}\\"'
    elif value[0] in "\"'":
        masked = f"{value[0]}{SECRET_MASK}{value[0]}"
    else:
        masked = SECRET_MASK
    return f"{match['name']}{match['sep']}{masked}"


def _mask_vendor_token(match: re.Match[str]) -> str:
    prefix = next(p for p in match.groupdict().values() if p)
    return f"{prefix}{SECRET_MASK}"


def redact(text: str) -> str:
    """``text`` with e-mail addresses, phone numbers and credentials masked; everything else unchanged."""
    # Credentials first: a token can contain digit runs or an "@", which must not be half-masked as a phone
    # number or e-mail and leave the rest of the token readable.
    text = _URL_USERINFO.sub(_mask_userinfo, text)
    text = _AUTH_HEADER.sub(_mask_auth_header, text)
    text = _AUTH_SCHEME.sub(_mask_auth_scheme, text)
    text = _SECRET_FIELD.sub(_mask_secret_field, text)
    text = _VENDOR_TOKEN.sub(_mask_vendor_token, text)
    text = _EMAIL.sub(EMAIL_MASK, text)
    return _PHONE.sub(PHONE_MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message and traceback through :func:`redact`.

    Arguments are folded into the message first so nothing escapes through ``args``, and the traceback is
    formatted here because an exception's message (an API error quoting a rejected e-mail) is PII too.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def redacting_logger(name: str) -> logging.Logger:
    """The named logger with :class:`RedactingFilter` attached once (logger filters do not inherit, so each
    logger that may carry API text or personal data asks for its own)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
