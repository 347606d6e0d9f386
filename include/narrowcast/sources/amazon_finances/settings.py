"""Amazon SP-API Finances constants of the finances source."""

from datetime import timedelta

# postedBefore "must be ... more than two minutes before the time of the request" (finances_2024-06-19.json,
# listTransactions); a minute more for the clocks' difference. The lookback re-reads the span cut off.
WINDOW_LAG = timedelta(minutes=3)
