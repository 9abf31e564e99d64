"""`augment jobs list|show|cancel|watch`: a thin client of the REST API."""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

WATCH_INTERVAL_SECONDS = 0.5
BAR_WIDTH = 30
BAR_MIN_WIDTH = 10
MESSAGE_MIN_WIDTH = 16
TICKETS_MIN_WIDTH = 24
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
        query = {"status": args.status, "job_type": args.job_type, "limit": args.limit, "cursor": args.cursor}
        _print_table(client.call("GET", "/jobs", query))
    elif args.action == "show":
        print(json.dumps(client.call("GET", f"/jobs/{args.job_id}"), indent=2))
    elif args.action == "cancel":
        print(client.call("DELETE", f"/jobs/{args.job_id}")["message"])
    elif args.action == "watch":
        _watch(client, args.job_id)


def _print_table(page: dict[str, Any]) -> None:
    head = f"{'JOB ID':36}  {'TYPE':18}  {'STATUS':10}  {'PROGRESS':>8}  {'CREATED':19}  "
    room = max(TICKETS_MIN_WIDTH, shutil.get_terminal_size().columns - len(head) - 1)
    print(head + "TICKETS")
    for job in page["jobs"]:
        percent = job["progress"].get("percent")
        progress = f"{percent:.0f}%" if percent is not None else "-"
        created = job["created_at"][:19].replace("T", " ")
        tickets = _tickets(job["ticket_keys"], room)
        print(f"{job['job_id']:36}  {job['job_type']:18}  {job['status']:10}  {progress:>8}  {created:19}  {tickets}")
    summary = f"{len(page['jobs'])} of {page['total']} jobs"
    if page.get("next_cursor"):
        summary += f"; the next page: the same command with --cursor {page['next_cursor']}"
    print(summary)


def _tickets(keys: list[str], room: int) -> str:
    """As many keys as fit in `room` characters, then how many more (a batch has hundreds)."""
    if not keys:
        return "-"
    shown: list[str] = []
    for number, key in enumerate(keys):
        rest = len(keys) - number - 1
        more = f" +{rest} more" if rest else ""
        if shown and len(",".join([*shown, key]) + more) > room:
            return ",".join(shown) + f" +{len(keys) - len(shown)} more"
        shown.append(key)
    return ",".join(shown)


def _watch(client: ApiClient, job_id: str) -> None:
    """Redraw one line, as wide as the terminal, until the job ends; exit 1 unless it completed."""
    while True:
        job = client.call("GET", f"/jobs/{job_id}")
        width = shutil.get_terminal_size().columns
        sys.stderr.write("\r" + progress_line(job, width, datetime.now(UTC)))
        sys.stderr.flush()
        if job["status"] in FINAL:
            sys.stderr.write("\n")
            if job["status"] != "completed":
                sys.exit(f"job {job['status']}: {job.get('error') or job['progress']['message']}")
            return
        time.sleep(WATCH_INTERVAL_SECONDS)


def progress_line(job: dict[str, Any], width: int, now: datetime) -> str:
    """`[███···] 3/10 30.0% processing 0:12 ETA 0:28 1,234 tok $0.0042 message`, in `width - 1`
    columns (the last column would wrap on some terminals), padded to blank the previous frame."""
    progress = job["progress"]
    percent = progress.get("percent")
    counts = f"{progress['processed']}/{progress['total']} {percent:5.1f}% " if percent is not None else ""
    elapsed = _elapsed(job, now)
    timing = f" {_duration(elapsed)}" if elapsed is not None else ""
    eta = _eta(job, elapsed)
    if eta is not None and job["status"] not in FINAL:
        timing += f" ETA {_duration(eta)}"
    usage = job.get("usage") or {}
    tokens = int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))
    spent = f" {tokens:,} tok ${float(usage.get('cost_usd', 0.0)):.4f}"
    facts = f"{counts}{job['status']}{timing}{spent}"
    room = max(width - 1, 20)
    bar_width = max(BAR_MIN_WIDTH, min(BAR_WIDTH, room - len(facts) - 3 - MESSAGE_MIN_WIDTH))
    if percent is None:
        bar = "·" * bar_width
    else:
        filled = round(bar_width * percent / 100)
        bar = "█" * filled + "·" * (bar_width - filled)
    message = " ".join(progress["message"].split())  # its own newlines and tabs would break the line
    line = f"[{bar}] {facts} {message}"
    if len(line) > room:
        line = line[: room - 1] + "…"
    return f"{line:{room}}"


def _elapsed(job: dict[str, Any], now: datetime) -> float | None:
    began = job.get("started_at") or job.get("created_at")
    if not began:
        return None
    ended = job.get("completed_at") if job["status"] in FINAL else None
    end = datetime.fromisoformat(ended) if ended else now
    return max(0.0, (end - datetime.fromisoformat(began)).total_seconds())


def _eta(job: dict[str, Any], elapsed: float | None) -> float | None:
    """Time left at the pace so far; None until there is a pace."""
    processed, total = job["progress"].get("processed"), job["progress"].get("total")
    if not elapsed or not processed or not total or processed >= total:
        return None
    return elapsed / processed * (total - processed)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def _detail(body: bytes) -> str:
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")[:200]
    return detail if isinstance(detail, str) else json.dumps(detail)
