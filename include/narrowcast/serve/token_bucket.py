"""Token-bucket rate limits, one bucket per API client, for the profile read API (one server process)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``burst`` tokens, refilled at ``rate_per_second``; each request takes one."""

    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("a bucket needs a positive rate and a burst of at least 1")
        self.rate = rate_per_second
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


def retry_after_header(wait_seconds: float) -> str:
    """``Retry-After`` in whole seconds (RFC 9110 allows no fraction), rounded up so a retry is not refused again."""
    return str(max(1, math.ceil(wait_seconds)))
