"""Route tables and pipelines are found through entry points, so `bot` (the runtime)
never imports `handlers` or `pipelines`, and other packages can add their own.

    [project.entry-points."augment.routes"]      name = "module:route_table"
    [project.entry-points."augment.pipelines"]   name = "module:pipeline"
"""

from __future__ import annotations

from importlib.metadata import entry_points

from bot.http.routes import Endpoint, RouteTable
from bot.jobs.pipeline import Pipeline

ROUTES_GROUP = "augment.routes"
PIPELINES_GROUP = "augment.pipelines"


def endpoints() -> list[Endpoint]:
    tables = [point.load() for point in sorted(entry_points(group=ROUTES_GROUP), key=lambda p: p.name)]
    found = [endpoint for table in tables if isinstance(table, RouteTable) for endpoint in table.endpoints]
    if not found:
        raise RuntimeError(
            f"no route tables registered under {ROUTES_GROUP}: is the package installed (pip install -e .)?"
        )
    return found


def pipelines() -> list[Pipeline]:
    return [point.load() for point in sorted(entry_points(group=PIPELINES_GROUP), key=lambda p: p.name)]
