"""An invocation's deadline: Lambda's remaining time less TIMEOUT_MARGIN_MS, asked for by the tick."""

from __future__ import annotations

import time
from typing import Callable

# Outside Lambda (the CLI, tests) there is no deadline: allow a long tick.
_NO_DEADLINE_MS = 15 * 60 * 1000


class Deadline:
    def __init__(self, remaining_ms: Callable[[], int], margin_ms: int):
        self._remaining_ms = remaining_ms  # Lambda's context.get_remaining_time_in_millis
        self.margin_ms = margin_ms

    @classmethod
    def of(cls, context, margin_ms: int) -> "Deadline":
        """The invocation's deadline; without a Lambda context (the CLI, tests), 15 minutes from now."""
        if context is not None:
            return cls(context.get_remaining_time_in_millis, margin_ms)
        end = time.monotonic() + _NO_DEADLINE_MS / 1000
        return cls(lambda: int((end - time.monotonic()) * 1000), margin_ms)

    def remaining_ms(self) -> int:
        return self._remaining_ms()

    def seconds_left(self) -> float:
        """Seconds before the margin (never negative): the time left to claim and send."""
        return max(self._remaining_ms() - self.margin_ms, 0) / 1000

    def has_time(self) -> bool:
        return self._remaining_ms() > self.margin_ms
