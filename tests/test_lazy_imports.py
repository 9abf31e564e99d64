"""What a process loads before it does any work: every route table and pipeline, but none of
the heavy libraries only some work needs (OR-Tools ~90 MiB, matplotlib ~60 MiB, the LLM SDKs
~90 MiB together, atlassian-python-api ~10 MiB, and the dashboard's Jinja2 and jira2markdown
with pyparsing). They load on first use, so an idle `augment serve` stays small."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "ortools",
    "matplotlib",
    "numpy",
    "openai",
    "anthropic",
    "google.genai",
    "atlassian",
    "jinja2",
    "jira2markdown",
    "pyparsing",
)

LOAD_EVERYTHING = """
import json, sys
from bot.plugins import endpoints, pipelines
import bot.app
endpoints(); pipelines()
print(json.dumps(sorted(sys.modules)))
"""


def test_the_routes_and_pipelines_load_no_heavy_library() -> None:
    done = subprocess.run([sys.executable, "-c", LOAD_EVERYTHING], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert not [name for name in loaded if name.startswith(HEAVY)], loaded
