"""Source connectors: plain-Python extractors speaking each real API's wire format."""
