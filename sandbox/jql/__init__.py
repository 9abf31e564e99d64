"""JQL for the Jira sandbox: compile a query once, then select and sort issues with it.

In three stages, a module each: ``lexer`` (text to tokens), ``parser`` (tokens to clauses)
and ``evaluation`` (clauses to a :class:`Query`); ``errors`` holds :class:`JqlError`.

The sandbox answers ``/rest/api/{2,3}/search/jql`` with::

    query = compile_jql(jql, now=clock.now(), custom_field_names=names)
    hits = query.order(issue for issue in issues if query.matches(issue))

and turns a :class:`JqlError` into ``400 {"errorMessages": [str(error)], "errors": {}}``.

Understood: the fields ``project``, ``key`` (``issuekey``, ``id``, ``issue``),
``issuetype`` (``type``), ``status``, ``labels``, ``parent``, ``sprint``, ``summary``,
``description``, ``comment``, ``text``, ``assignee``, ``reporter``, ``created``,
``updated`` and custom fields as ``cf[NNNNN]`` or by display name, with the operators
Jira Cloud gives each; ``AND`` (``&&``), ``OR`` (``||``), ``NOT`` (``!``) and
parentheses; ``ORDER BY``; the functions ``now``, ``startOf``/``endOf`` +
``Day``/``Week``/``Month``/``Year``, ``openSprints``, ``futureSprints``,
``closedSprints``, ``standardIssueTypes``, ``subTaskIssueTypes`` and ``currentUser``.
Everything else (other fields and functions, ``WAS``/``CHANGED``) raises
:class:`JqlError`: a query Jira would refuse must not quietly get an answer here.

Syntax follows Jira's own grammar (jira-core ``Jql.g``): its reserved words and
characters, its escapes, bare ``DEMO-12`` and ``-7d``, ``NOT`` before ``AND`` before
``OR``, and its messages with 1-based ``(line L, character C)``. Meaning follows Jira:

* names (project key or name, issue type, status, sprint, issue key) compare
  case-insensitively; labels and account ids exactly;
* ``!=``, ``NOT IN`` and ``!~`` never select an empty field (``assignee != x`` skips
  unassigned issues), whereas ``NOT`` is plain negation;
* ``~`` searches words, not substrings: every word of the value must occur, in any order
  (English stop words ignored); ``"\\"two words\\""`` must occur as a phrase and
  ``word*`` matches a prefix. Jira also stems words ("payments" finds "payment"); this
  engine does not;
* dates written without a time zone are in the zone of ``now``; weeks start on Sunday.

Jira refuses values that do not exist ("The value 'NOPE' does not exist for the field
'project'."). Only the caller knows what exists, so ``compile_jql`` takes
``known_values``: for ``project`` (keys and names), ``issuetype``, ``status``, ``sprint``
(names and ids), ``assignee`` and ``reporter`` (account ids), every value that exists.
Fields left out are not checked.

``Query.order`` applies ``ORDER BY``; ties, and every query without it, go by ascending
issue id (see its docstring). ``rank`` only sorts (any operator on it is refused): by each
issue's lexorank-like ``IssueFacts.rank`` text, unranked issues last.
"""

from sandbox.jql.errors import JqlError
from sandbox.jql.evaluation import IssueFacts, Query, compile_jql

__all__ = ["IssueFacts", "JqlError", "Query", "compile_jql"]
