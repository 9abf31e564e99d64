"""`augment jobs list|show|cancel|watch`: a thin client of the REST API."""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

WATCH_INTERVAL_SECONDS = 0.5
BAR_WIDTH = 30
FINAL = {"completed", "failed", "cancelled"}


class ApiClient:
    def __init__(self, base_url: str, user: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if user:
            password = os.environ.get("AUGMENT_PASSWORD") or getpass.getpass(f"Password for {user}: ")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def call(self, method: str, path: str, query: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        request = urllib.request.Request(url, method=method, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            detail = _detail(err.read())
            sys.exit(f"{method} {path}: HTTP {err.code}: {detail}")
        except urllib.error.URLError as err:
            sys.exit(f"cannot reach Augment at {self.base_url}: {err.reason}")


def run(args: argparse.Namespace) -> None:
    client = ApiClient(args.url, args.user)
    if args.action == "list":
        page = client.call("GET", "/jobs", {"status": args.status, "job_type": args.job_type, "limit": args.limit})
        _print_table(page)
    elif args.action == "show":
        print(json.dumps(client.call("GET", f"/jobs/{args.job_id}"), indent=2))
    elif args.action == "cancel":
        print(client.call("DELETE", f"/jobs/{args.job_id}")["message"])
    elif args.action == "watch":
        _watch(client, args.job_id)


def _print_table(page: dict[str, Any]) -> None:
    print(f"{'JOB ID':36}  {'TYPE':18}  {'STATUS':10}  {'PROGRESS':8}  {'CREATED':20}  TICKETS")
    for job in page["jobs"]:
        percent = job["progress"].get("percent")
        progress = f"{percent:.0f}%" if percent is not None else "-"
        created = job["created_at"][:19].replace("T", " ")
        tickets = ",".join(job["ticket_keys"]) or "-"
        print(f"{job['job_id']:36}  {job['job_type']:18}  {job['status']:10}  {progress:>8}  {created:20}  {tickets}")
    more = " (more: use the API's cursor)" if page.get("next_cursor") else ""
    print(f"{len(page['jobs'])} of {page['total']} jobs{more}")


def _watch(client: ApiClient, job_id: str) -> None:
    """Redraw one line until the job ends; exit 1 unless it completed."""
    while True:
        job = client.call("GET", f"/jobs/{job_id}")
        sys.stderr.write("\r" + _progress_line(job))
        sys.stderr.flush()
        if job["status"] in FINAL:
            sys.stderr.write("\n")
            if job["status"] != "completed":
                sys.exit(f"job {job['status']}: {job.get('error') or job['progress']['message']}")
            return
        time.sleep(WATCH_INTERVAL_SECONDS)


def _progress_line(job: dict[str, Any]) -> str:
    progress = job["progress"]
    percent = progress.get("percent")
    if percent is None:
        bar = "·" * BAR_WIDTH
        counts = ""
    else:
        filled = round(BAR_WIDTH * percent / 100)
        bar = "█" * filled + "·" * (BAR_WIDTH - filled)
        counts = f" {progress['processed']}/{progress['total']} {percent:5.1f}%"
    return f"[{bar}]{counts} {job['status']}: {progress['message'][:60]:60}"


def _detail(body: bytes) -> str:
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")[:200]
    return detail if isinstance(detail, str) else json.dumps(detail)
