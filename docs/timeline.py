"""Draw `docs/timeline.png`, the README's timeline picture, from the sandbox's demo epic.

Runs the real `timeline_planning` job on a running Augment with its sandbox (`make run`):
`POST /sprint/timeline` for DEMO-11 on board 1 at 10 man-days a sprint (a preview: nothing is
written), then saves `GET /jobs/{job_id}/timeline.png`. The demo's dates follow the day it runs.

    make run                                  # in one terminal
    .venv/bin/python docs/timeline.py         # in another: writes docs/timeline.png
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import aiohttp

REQUEST = {"epic_key": "DEMO-11", "board_id": 1, "team_capacity_days": 10}


async def draw(url: str) -> tuple[bytes, dict[str, Any], str]:
    """The chart's PNG, the timeline answer and the job id."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/sprint/timeline", json=REQUEST) as response:
            answer = await response.json()
            assert response.status == 200, answer
        async with session.get(f"{url}/jobs/ticket/{REQUEST['epic_key']}") as response:
            job_id = (await response.json())["job_id"]
        async with session.get(f"{url}/jobs/{job_id}/timeline.png") as response:
            assert response.status == 200, await response.text()
            return await response.read(), answer, job_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Augment's address")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "timeline.png")
    arguments = parser.parse_args()
    picture, answer, job_id = asyncio.run(draw(arguments.url.rstrip("/")))
    arguments.out.write_bytes(picture)
    print(f"{arguments.out}: {answer['total_tasks']} tasks in {answer['total_sprints']} sprints, job {job_id}")


if __name__ == "__main__":
    main()
