"""Jira's search index, lagging writes by the fault ``search_lag_ms``.

Jira Cloud's JQL search reads an index that catches up with writes after a while, while
``GET /issue/{key}`` reads the issue itself. With ``search_lag_ms`` > 0 the search sees
every issue as it was that long ago: an issue created since is not there, and an issue
changed since matches and is shown with its older values (``updated`` included). Links
and comments live on the issue or the site as they are now; only the issue's own record
is versioned.

Rules:
- Versions are kept only while the lag is on: turning it off (0) drops them all.
- Before the first write with the lag on, every issue is kept as it is (the baseline,
  visible at once); after each successful write, each issue that differs from its
  latest kept version gets a new version stamped with the sandbox clock.
- Versions older than the lag are pruned, except the newest of them (it is what the
  search sees), and an issue keeps at most ``MAX_VERSIONS`` versions: memory stays
  bounded by the site's size, however many writes come.
- A replaced site (reset, snapshot import) starts a new baseline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from sandbox.jira.model import Issue
from sandbox.jira.site import Site

MAX_VERSIONS = 20


class SearchIndex:
    def __init__(self) -> None:
        self._site: Site | None = None
        # issue id -> (when it became so, None for the baseline; the issue as it was), oldest first
        self._versions: dict[str, list[tuple[datetime | None, Issue]]] = {}

    def before_write(self, site: Site, lag: timedelta) -> None:
        """Keep the baseline, if the lag is on and there is none for this site yet."""
        if not lag:
            self.clear()
            return
        if self._site is not site:
            self.clear()
            self._site = site
            for issue in site.issues():
                self._versions[issue.id] = [(None, issue.model_copy(deep=True))]

    def after_write(self, site: Site, lag: timedelta, now: datetime) -> None:
        """Keep a version of each issue the write changed; prune what the lag no longer needs."""
        if not lag or self._site is not site:
            return
        horizon = now - lag
        for issue in site.issues():
            versions = self._versions.setdefault(issue.id, [])
            if not versions or versions[-1][1] != issue:
                versions.append((now, issue.model_copy(deep=True)))
            seen = [index for index, (when, _) in enumerate(versions) if _before(when, horizon)]
            keep_from = seen[-1] if seen else 0
            del versions[: max(keep_from, len(versions) - MAX_VERSIONS)]

    def visible(self, site: Site, lag: timedelta, now: datetime) -> list[Issue] | None:
        """The issues as the search sees them at `now`, in site order; None: no lag, the site as it is."""
        if not lag or self._site is not site:
            return None
        horizon = now - lag
        seen: list[Issue] = []
        for issue in site.issues():
            versions = self._versions.get(issue.id, [])
            old = [kept for when, kept in versions if _before(when, horizon)]
            if old:
                seen.append(old[-1])
        return seen

    def clear(self) -> None:
        self._site = None
        self._versions.clear()


def _before(when: datetime | None, horizon: datetime) -> bool:
    return when is None or when <= horizon


SEARCH_INDEX = web.AppKey("jira_search_index", SearchIndex)
