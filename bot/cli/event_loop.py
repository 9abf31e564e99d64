"""The event loop the long-running processes run on (`server.event_loop`).

uvloop answers the same work with less CPU than asyncio's own loop (measured in the README's
performance section); where it is not installed (Windows) asyncio's loop is used instead.
"""

from __future__ import annotations

import asyncio
from typing import Literal


def new_event_loop(choice: Literal["uvloop", "asyncio"]) -> asyncio.AbstractEventLoop:
    if choice == "uvloop":
        try:
            import uvloop
        except ImportError:
            return asyncio.new_event_loop()
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
