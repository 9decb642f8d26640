"""Caches keyed by image content, so each crop is read once.

When ten denoisers are scored on one pair, the reference crops and the noisy
crops are the same bytes every time; keying readings by a hash of the pixels
(not by file name or object identity) makes the reference and the noisy shot
read once per pair without the caller keeping any state. Each cache is held in
memory and, behind it, in the on-disk cache of reference work
(:mod:`evalkit.cache`), so another process scoring the next candidate of the
same pair reads them back instead of reading them again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from .. import cache
from ._engine import Reading


@dataclass(frozen=True)
class CacheInfo:
    """Counters of one cache since it was last cleared."""

    hits: int
    misses: int
    size: int
    maxsize: int


class LruCache:
    """A small thread-safe least-recently-used mapping with hit counters, backed
    by the on-disk cache under ``kind``.

    ``encode`` turns a value into JSON-ready data and ``decode`` back; keys are
    tuples of strings. A value found on disk counts as a hit.
    """

    def __init__(
        self,
        maxsize: int,
        kind: str,
        encode: Callable[[Any], Any],
        decode: Callable[[Any], Any],
    ):
        self.maxsize = maxsize
        self.kind = kind
        self._encode, self._decode = encode, decode
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, ...]) -> Any | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
        stored = cache.get(self.kind, "|".join(key))
        with self._lock:
            if stored is None:
                self.misses += 1
                return None
            self.hits += 1
        value = self._decode(stored)
        self._remember(key, value)
        return value

    def put(self, key: tuple[str, ...], value: Any) -> None:
        self._remember(key, value)
        cache.put(self.kind, "|".join(key), self._encode(value))

    def _remember(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self.hits, self.misses, len(self._data), self.maxsize)


# A reading is a short string and a float; thousands cost well under a megabyte.
READINGS = LruCache(
    20_000,
    "ocr-reading",
    encode=lambda reading: [reading.text, reading.confidence],
    decode=lambda stored: Reading(stored[0], stored[1]),
)
# One entry per reference image (or annotated box) holds a few boxes.
DETECTIONS = LruCache(
    1_000,
    "ocr-lines",
    encode=lambda boxes: [list(box) for box in boxes],
    decode=lambda stored: [tuple(box) for box in stored],
)


def cache_info() -> dict[str, CacheInfo]:
    """Hit and miss counts of the OCR caches: ``{"readings": ..., "detections": ...}``."""
    return {"readings": READINGS.info(), "detections": DETECTIONS.info()}


def clear_cache() -> None:
    """Forget every cached reading and detection, and reset the counters."""
    READINGS.clear()
    DETECTIONS.clear()
