"""Garbage collection tuned for a long-running server process.

Everything imported at start (modules, route tables, pydantic models: most of the heap) is
moved out of the collector's sight with `gc.freeze()`, and young objects are collected every
20,000 allocations instead of 700: each request allocates a few hundred short-lived objects,
and with the defaults the collector ran every few requests, adding pauses to the slowest
answers (`bench/` and the README's performance section measure the effect).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000


def tune_for_serving() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
