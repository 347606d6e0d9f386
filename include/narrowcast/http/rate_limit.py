"""Token-bucket rate limiter shared by every client that declares a request rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, bursts up to ``burst``. Thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 requests/second, got {rate}")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def set_rate(self, rate: float) -> None:
        """Refill at ``rate`` from now on (an API reported the rate it applies to this caller)."""
        if rate <= 0:
            raise ValueError(f"rate must be > 0 requests/second, got {rate}")
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self.rate = float(rate)

    def acquire(self, tokens: float = 1.0) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                # The epsilon absorbs float rounding so a wait never shrinks towards zero forever.
                if self._tokens >= tokens - 1e-9:
                    self._tokens -= tokens
                    return
                wait = (tokens - self._tokens) / self.rate
            self.waited_seconds += wait
            self._sleep(wait)
