"""One module per external service, holding its wire conventions once for both its source and its destination:
base URL and API version, authentication, error envelope and retriable/fatal classification, pagination style
and rate-limit signals."""
