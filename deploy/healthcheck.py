"""The container image's HEALTHCHECK, one for every role of the image.

`augment serve` and `augment api` answer on `SERVER_PORT` (8000); `augment worker` has no API
and answers on `WORKER_HEALTH_PORT` (8010; `0`: no endpoint, nothing to check). The role is the
container's command, read from PID 1's command line (`docker run --init` keeps it there too);
`AUGMENT_ROLE` overrides it. Exit 0: ready (`GET /health/ready` answered 200); 1 otherwise.
Standard library only: it runs with the image's Python, outside Augment's packages.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

ROLES = ("serve", "api", "worker")


def role() -> str:
    if os.environ.get("AUGMENT_ROLE") in ROLES:
        return os.environ["AUGMENT_ROLE"]
    try:
        with open("/proc/1/cmdline", "rb") as cmdline:
            words = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        words = []
    return next((word for word in words if word in ROLES), "serve")


def port(current_role: str) -> int:
    if current_role == "worker":
        return int(os.environ.get("WORKER_HEALTH_PORT") or 8010)
    return int(os.environ.get("SERVER_PORT") or 8000)


def main() -> int:
    current_role = role()
    health_port = port(current_role)
    if health_port == 0:
        print(f"{current_role}: WORKER_HEALTH_PORT=0, no health endpoint to ask")
        return 0
    url = f"http://127.0.0.1:{health_port}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            print(f"{current_role}: {url} answered {response.status}")
            return 0
    except urllib.error.HTTPError as err:
        print(f"{current_role}: {url} answered {err.code}")
    except OSError as err:
        print(f"{current_role}: {url}: {err}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
