"""`augment teams import FILE.yaml | list | export`: a thin client of the REST API's `/teams`.

It goes through the API, as `augment jobs` does, so it needs no NATS credentials and the API's
auth and validation (the configured skills) apply. `import` PUTs each team of the file (creating
or replacing it whole) and goes on past a team the API refuses: each refusal is one line naming
the team and the field, and the exit code is 1 when anything was refused. `export` prints the
teams in the file format `import` reads.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from schemas.teams import slug

MAX_FILE_BYTES = 5_000_000
MAX_TEAMS_PER_FILE = 500
EXPORT_LIMIT = 200
TIMEOUT_SECONDS = 30


class ApiClient:
    def __init__(self, base_url: str, user: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if user:
            password = os.environ.get("AUGMENT_PASSWORD") or getpass.getpass(f"Password for {user}: ")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """The status and JSON answer; exits with one line when the API cannot be reached."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            try:
                return err.code, json.loads(err.read() or b"null")
            except ValueError:
                return err.code, None
        except urllib.error.URLError as err:
            sys.exit(f"cannot reach Augment at {self.base_url}: {err.reason}")


def run(args: argparse.Namespace) -> None:
    client = ApiClient(args.url, args.user)
    if args.action == "import":
        sys.exit(import_file(client, Path(args.file)))
    elif args.action == "list":
        _print_table(_teams(client))
    elif args.action == "export":
        stored = ("id", "name", "default_sprint_days", "members")
        teams = [{field: team[field] for field in stored} for team in _teams(client)]
        print(yaml.safe_dump({"teams": teams}, sort_keys=False, allow_unicode=True), end="")


def import_file(client: ApiClient, path: Path) -> int:
    """Create or replace every team of the file; 0 when all were imported, else 1."""
    teams = _read_teams(path)
    counts = {"created": 0, "replaced": 0, "refused": 0}
    for number, team in enumerate(teams, start=1):
        name = team.get("name") if isinstance(team, dict) else None
        team_id = team.get("id") if isinstance(team, dict) else None
        label = f"team {team_id or name or f'#{number}'}"
        if not isinstance(team, dict):
            problems = ["a team is a mapping (id, name, default_sprint_days, members)"]
        elif not isinstance(team_id, str) and not (isinstance(name, str) and slug(name)):
            problems = ["id: give an id, or a name with letters or digits to make one of"]
        else:
            problems = _put(client, team_id if isinstance(team_id, str) else slug(str(name)), team, counts)
        for problem in problems:
            print(f"{label}: {problem}", file=sys.stderr)
        if problems:
            counts["refused"] += 1
    print(
        f"{path}: {counts['created'] + counts['replaced']} of {len(teams)} teams imported "
        f"({counts['created']} created, {counts['replaced']} replaced, {counts['refused']} refused)"
    )
    return 1 if counts["refused"] else 0


def _put(client: ApiClient, team_id: str, team: dict[str, Any], counts: dict[str, int]) -> list[str]:
    """PUT one team; the problems the API named (none when it was stored)."""
    status, answer = client.send("PUT", f"/teams/{urllib.parse.quote(team_id, safe='')}", team)
    if status in (200, 201):
        counts["created" if status == 201 else "replaced"] += 1
        print(f"team {team_id}: {'created' if status == 201 else 'replaced'}")
        return []
    detail = answer.get("detail") if isinstance(answer, dict) else answer
    if status == 422 and isinstance(detail, list):
        return [f"{_field(item.get('loc', []))}: {item.get('msg', '')}" for item in detail if isinstance(item, dict)]
    if status in (401, 403, 503):  # nothing else would fare better: stop here
        sys.exit(f"PUT /teams/{team_id}: HTTP {status}: {detail}")
    return [f"HTTP {status}: {detail}"]


def _field(loc: list[Any]) -> str:
    """`["body", "members", 1, "skill"]` → `members[1].skill`; a bad path id is the team's `id`."""
    where, *rest = loc or ["body"]
    if where == "path":
        return "id"
    text = ""
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "team"


def _read_teams(path: Path) -> list[Any]:
    """The `teams` list of the file, or exit with one line saying what is wrong with it."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            sys.exit(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        sys.exit(f"{path}: {err.strerror or err}")
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        sys.exit(f"{path}: not valid YAML: {' '.join(str(err).split())}")
    teams = document.get("teams") if isinstance(document, dict) else None
    if not isinstance(teams, list):
        sys.exit(f"{path}: expected a mapping with a `teams` list (see sandbox/data/teams.yaml)")
    if len(teams) > MAX_TEAMS_PER_FILE:
        sys.exit(f"{path}: {len(teams)} teams; at most {MAX_TEAMS_PER_FILE} per file")
    return teams


def _teams(client: ApiClient) -> list[dict[str, Any]]:
    status, page = client.send("GET", f"/teams?limit={EXPORT_LIMIT}")
    if status != 200:
        detail = page.get("detail") if isinstance(page, dict) else page
        sys.exit(f"GET /teams: HTTP {status}: {detail}")
    if page["total"] > len(page["teams"]):
        print(f"only the first {len(page['teams'])} of {page['total']} teams", file=sys.stderr)
    teams: list[dict[str, Any]] = page["teams"]
    return teams


def _print_table(teams: list[dict[str, Any]]) -> None:
    print(f"{'ID':24}  {'NAME':24}  {'MEMBERS':>7}  {'SPRINT':>6}  CAPACITY (man-days per sprint)")
    for team in teams:
        capacity = ", ".join(f"{skill} {days:g}" for skill, days in team["capacity_per_skill"].items()) or "-"
        print(
            f"{team['id']:24}  {team['name'][:24]:24}  {len(team['members']):>7}  "
            f"{team['default_sprint_days']:>5}d  {capacity} (total {team['total_capacity_days']:g})"
        )
    print(f"{len(teams)} teams")
