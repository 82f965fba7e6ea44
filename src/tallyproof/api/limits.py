"""The limits every request meets before any work is done for it: the size of its body
(counted as it arrives, whatever Content-Length says), its media type, how many documents it
carries, and how many documents one key may send a minute."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request


class RequestRefused(Exception):  # noqa: N818 - reported as its HTTP status with its code
    """A request refused by a limit; nothing was done for it."""

    code = "request.invalid"

    def __init__(self, message: str, field: str = "$") -> None:
        super().__init__(f"{self.code}: {message}")
        self.field = field


class BodyTooLarge(RequestRefused):
    code = "request.too_large"


class UnsupportedMedia(RequestRefused):
    code = "request.media_type"


class TooManyDocuments(RequestRefused):
    code = "request.batch_too_large"


class RateLimited(RequestRefused):
    code = "request.rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, "signature.key")
        self.retry_after = retry_after


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` bytes (a lying or absent
    Content-Length does not let a client make the server buffer more)."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media not in ("application/json", ""):
        raise UnsupportedMedia(f"send application/json, not {media!r}", "content-type")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"{int(declared):,} bytes; the limit is {limit:,}", "$")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"more than {limit:,} bytes; the limit is {limit:,}", "$")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class _Bucket:
    tokens: float
    at: float


class KeyRates:
    """A token bucket per key id: `per_minute` documents a minute, refilled continuously.
    Documents are charged when queued and refunded when their signature does not verify,
    so nobody can spend another key's allowance by naming it."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def charge(self, counts: dict[str, int]) -> None:
        """Take `counts[key]` documents from each key's allowance, or refuse them all."""
        if self.per_minute <= 0 or not counts:
            return
        with self._lock:
            now = self.clock()
            buckets = {key: self._refilled(key, now) for key in counts}
            for key, n in counts.items():
                short = n - buckets[key].tokens
                if short > 0:
                    wait = math.ceil(short * 60 / self.per_minute)
                    raise RateLimited(
                        f"key {key} may submit {self.per_minute:,} documents a minute; "
                        f"retry in {wait} s",
                        retry_after=max(1, wait),
                    )
            for key, n in counts.items():
                buckets[key].tokens -= n
            if len(self._buckets) > 200_000:  # keys that have been quiet are full again
                self._forget(now)

    def refund(self, key: str, n: int) -> None:
        if self.per_minute <= 0 or n <= 0:
            return
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.tokens = min(float(self.per_minute), bucket.tokens + n)

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.per_minute), now)
        else:
            rate = self.per_minute / 60.0
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
        return bucket

    def _forget(self, now: float) -> None:
        full = 60.0  # a bucket untouched for a minute is full: it need not be kept
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < full}
