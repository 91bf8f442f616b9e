"""Retry policy of a step: how often, after which delays, on which exceptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how a failed step is tried again.

    The delay before retry ``n`` (1-based) is ``backoff * multiplier ** (n - 1)``, capped at
    ``max_delay``, then spread by up to ``jitter`` (a fraction) either way so that
    concurrent retries do not move in lockstep.

    Attributes:
        max_retries: how many times to retry after the first failure.
        backoff: delay in seconds before the first retry.
        multiplier: factor applied to the delay after each retry.
        max_delay: upper bound of one delay, in seconds.
        jitter: relative random spread of each delay, between 0 and 1.
        retry_on: exception types that are retried; others fail at once.
    """

    max_retries: int = 0
    backoff: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.1
    retry_on: tuple[type[BaseException], ...] = field(default=(Exception,))

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff < 0 or self.max_delay < 0:
            raise ValueError("backoff and max_delay must be >= 0")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter}")
        for exc in self.retry_on:
            if not (isinstance(exc, type) and issubclass(exc, BaseException)):
                raise ValueError(f"retry_on must hold exception types, got {exc!r}")

    @classmethod
    def coerce(cls, value: int | RetryPolicy | None) -> RetryPolicy:
        """Accept ``None``, a retry count, or a policy."""
        if value is None:
            return cls()
        if isinstance(value, RetryPolicy):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"retry must be an int or a RetryPolicy, got {value!r}")
        return cls(max_retries=value)

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether attempt number ``attempt`` (0-based) that raised ``error`` is retried."""
        return attempt < self.max_retries and isinstance(error, self.retry_on)

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based)."""
        base = min(self.backoff * self.multiplier ** (retry_number - 1), self.max_delay)
        if self.jitter and base:
            spread = base * self.jitter
            if rng is None:
                import random  # on the first retry, not at every step runner's start

                base += random.uniform(-spread, spread)
            else:
                base += rng.uniform(-spread, spread)
        return max(0.0, min(base, self.max_delay))
