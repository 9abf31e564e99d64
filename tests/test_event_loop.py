"""`server.event_loop`: uvloop by default, asyncio's own loop on request."""

from __future__ import annotations

import asyncio

import uvloop

from bot.cli.event_loop import new_event_loop


def test_each_choice_gives_its_loop() -> None:
    for choice, kind in (("uvloop", uvloop.Loop), ("asyncio", asyncio.BaseEventLoop)):
        loop = new_event_loop(choice)
        try:
            assert isinstance(loop, kind)
            assert loop.run_until_complete(asyncio.sleep(0, result="ran")) == "ran"
        finally:
            loop.close()
