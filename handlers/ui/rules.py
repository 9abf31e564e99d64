"""The rules page: the configured trigger rules, how often each fired, and the loop guard's refusals.

The counts are the durable ones every worker adds to (`bot.jobs.rule_counts`), not this
process's Prometheus counters: the API process may not be the worker that fired a rule. The
page also shows who may use the `/augment` comment commands and their rate limits. Rules come
from the config; the page lists at most `MAX_RULES` of them and says when there are more.
"""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import RouteTable
from bot.services import services
from handlers.ui import page

routes = RouteTable("ui")

MAX_RULES = 200


@routes.get("/ui/rules", in_schema=False)
async def rules_page(request: web.Request) -> web.Response:
    runtime = services(request).runtime
    settings = runtime.settings
    rules = settings.triggers.rules[:MAX_RULES]
    counts = runtime.counts
    return page(
        request,
        "rules/page.html",
        rules=rules,
        total=len(settings.triggers.rules),
        tallies=await counts.rules([rule.name for rule in rules]),
        own_events=await counts.own_events(),
        triggers=settings.triggers,
        commands=settings.commands,
    )
