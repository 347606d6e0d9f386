"""The near-real-time marketing path: triggers (abandoned checkouts) computed from the few raw rows they need
and sent within minutes, outside the daily build."""
