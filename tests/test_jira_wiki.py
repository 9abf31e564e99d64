"""Markdown → Jira wiki markup, as written to description and comment fields.

Expected outputs were checked against Jira Cloud's own wiki parser
(@atlaskit/editor-wikimarkup-transformer): each renders as the Markdown meant.
"""

from __future__ import annotations

import random
import string

import pytest

from bot.formatting import markdown_to_wiki

WJ = "\u2060"  # word joiner: keeps literal what Jira has no backslash escape for

CASES = [
    # Headings, paragraphs, line breaks.
    pytest.param("# Title", "h1. Title", id="h1"),
    pytest.param("## Sub *x*", "h2. Sub _x_", id="h2-inline"),
    pytest.param("### Three", "h3. Three", id="h3"),
    pytest.param("#### Four", "h4. Four", id="h4"),
    pytest.param("##### Five", "h5. Five", id="h5"),
    pytest.param("###### Six", "h6. Six", id="h6"),
    pytest.param("Title\n=====\n\nSub\n---", "h1. Title\n\nh2. Sub", id="setext"),
    pytest.param("## Done ##", "h2. Done", id="closing-hashes"),
    pytest.param("#\n\ntext", "text", id="empty-heading-dropped"),
    pytest.param("Title\nmore\n===", "h1. Title more", id="heading-is-one-line"),
    pytest.param("One\n\nTwo", "One\n\nTwo", id="paragraphs"),
    pytest.param("line one\nline two", "line one\nline two", id="soft-break"),
    pytest.param("one  \ntwo\\\nthree", "one\ntwo\nthree", id="hard-breaks"),
    pytest.param("a<br>b<br/>c", "a\nb\nc", id="html-br"),
    # Emphasis.
    pytest.param("**b** and __b__", "*b* and *b*", id="bold"),
    pytest.param("*i* and _i_", "_i_ and _i_", id="italic"),
    pytest.param("~~s~~", "-s-", id="strikethrough"),
    pytest.param("`code`", "{{code}}", id="code-span"),
    pytest.param("***both*** and **bold _italic_**", "_*both*_ and *bold _italic_*", id="bold-italic"),
    pytest.param("foo**bar**baz", "foo{*}bar{*}baz", id="intraword-bold-braced"),
    pytest.param("the `pip`s", "the {{pip{}}}s", id="code-next-to-word-braced"),
    # Jira Cloud counts any non-ASCII character as part of a word.
    pytest.param("“**quoted**”—done", "“{*}quoted{*}”—done", id="bold-next-to-non-ascii-braced"),
    pytest.param("`{a}}`", r"{{\{a\}\}}}", id="code-braces-escaped"),
    pytest.param("`` ` x ` ``", "{{` x `}}", id="code-backticks"),
    pytest.param("**a\nb**", "*a*\n*b*", id="bold-across-break-reopened"),
    # Code blocks: content verbatim.
    pytest.param("```python\nprint(1)\n```", "{code:python}\nprint(1)\n{code}", id="fence-python"),
    pytest.param("```ts\nlet x = 1\n```", "{code:typescript}\nlet x = 1\n{code}", id="fence-alias"),
    pytest.param("```yaml\na: 1\n```", "{code}\na: 1\n{code}", id="fence-language-jira-lacks"),
    pytest.param("```\n*not* _markup_ {x}\n```", "{code}\n*not* _markup_ {x}\n{code}", id="fence-verbatim"),
    pytest.param("    x = 1\n    y = 2", "{code}\nx = 1\ny = 2\n{code}", id="indented-code"),
    pytest.param("```\n{code}\n```", "{noformat}\n{code}\n{noformat}", id="code-quoting-code-macro"),
    # Lists.
    pytest.param("- a\n- b", "* a\n* b", id="bullets-dash"),
    pytest.param("* a\n* b", "* a\n* b", id="bullets-star"),
    pytest.param("+ a\n+ b", "* a\n* b", id="bullets-plus"),
    pytest.param("1. a\n2. b", "# a\n# b", id="ordered"),
    pytest.param("- a\n  - b\n    1. c\n- d", "* a\n** b\n**# c\n* d", id="nested-mixed"),
    pytest.param("1. a\n   - b\n2. c", "# a\n#* b\n# c", id="ordered-with-bullets"),
    pytest.param("- first\n\n  second\n- next", "* first\nsecond\n* next", id="item-paragraphs-joined"),
    pytest.param("- [ ] open\n- [x] done\n- [X] Done", "* ☐ open\n* ☑ done\n* ☑ Done", id="task-list"),
    pytest.param("- run:\n\n  ```sh\n  make\n  ```", "* run:\n{code:shell}\nmake\n{code}", id="code-in-item"),
    # Tables.
    pytest.param("| a | b |\n|---|---|\n| 1 | 2 |", "||a||b||\n|1|2|", id="table"),
    pytest.param(
        "| **h** | x |\n|:-|-:|\n| `c` | [l](https://x.io) |", "||*h*||x||\n|{{c}}|[l|https://x.io]|", id="table-inline"
    ),
    # Jira Cloud cannot escape a pipe in a cell at all: a look-alike keeps the column count.
    pytest.param("| a |\n|---|\n| x \\| y |", "||a||\n|x ∣ y|", id="table-pipe"),
    pytest.param("| a | b |\n|---|---|\n|  | 2 |", "||a||b||\n| |2|", id="table-empty-cell"),
    pytest.param("| a |\n|---|\n| x<br>y |", "||a||\n|x\\\\y|", id="table-line-break"),
    # Links and images.
    pytest.param("[text](https://example.com/a_b)", "[text|https://example.com/a_b]", id="link"),
    pytest.param("[a | b [c]](https://x.io)", "[a ∣ b (c)|https://x.io]", id="link-label-pipe-brackets"),
    pytest.param("[x](https://x.io/a|b)", "[x|https://x.io/a%7Cb]", id="link-url-pipe"),
    pytest.param("<https://example.com>", "[https://example.com]", id="autolink"),
    pytest.param("<a@b.io>", "[a@b.io|mailto:a@b.io]", id="email-autolink"),
    pytest.param("see https://example.com/a_b-c_d.", "see https://example.com/a_b-c_d.", id="bare-url-untouched"),
    pytest.param("[setup](docs/setup.md)", "setup (docs/setup.md)", id="relative-link-as-text"),
    pytest.param("![diagram](https://x.io/d.png)", "!https://x.io/d.png!", id="image"),
    pytest.param("a![d](d.png)b", "a !d.png! b", id="image-kept-apart-from-words"),
    # Quotes and rules.
    pytest.param("> quoted *text*", "{quote}\nquoted _text_\n{quote}", id="quote"),
    pytest.param("> a\n>\n> > b", "{quote}\na\n\nb\n{quote}", id="nested-quote-merged"),
    pytest.param("---", "----", id="rule"),
    pytest.param("***", "----", id="rule-stars"),
    # Escaping where Jira would read markup...
    pytest.param("use {x} and [y] or a | b", r"use \{x\} and \[y\] or a \| b", id="braces-brackets-pipe"),
    pytest.param(r"*not bold* but \*literal\*", r"_not bold_ but \*literal*", id="star-opener"),
    pytest.param(r"\_x\_ and \-y\-", r"\_x_ and \-y-", id="underscore-dash-openers"),
    pytest.param("+ins+ ^sup^ ~sub~ ??cite??", r"\+ins+ \^sup^ \~sub~ \??cite??", id="plus-caret-tilde-cite"),
    pytest.param("!img.png! and Hello! World!", r"\!img.png! and Hello! World!", id="bang"),
    pytest.param("\\* star\n\\- dash\n\\# hash", "\\* star\n\\- dash\n\\# hash", id="line-start-list-markers"),
    pytest.param(r"\----", r"\-\---", id="line-start-rule"),
    pytest.param("h1. not a heading", WJ + "h1. not a heading", id="line-start-heading"),
    pytest.param("bq. not a quote", WJ + "bq. not a quote", id="line-start-quote"),
    pytest.param("(i) (x) (/) :) ;-) :D", r"\(i) \(x) \(/) :\) ;-\) :" + WJ + "D", id="icons"),
    pytest.param(r"C:\\Users and a\\*b", "C:\\" + WJ + "Users and a\\" + WJ + "*b", id="backslash"),
    # ...and nowhere else.
    pytest.param(
        "well-known a_b_c 2 * 3 snake_case C++ x^2 -5 to -3 ~5 min 50% @bob #1",
        "well-known a_b_c 2 * 3 snake_case C++ x^2 -5 to -3 ~5 min 50% @bob #1",
        id="ordinary-text-untouched",
    ),
    # Jira Cloud reads a phrase's content a second time, as a line of its own: escapes
    # inside one get word joiners, which survive that second reading.
    pytest.param("**a_b_ c**", "*a_b_ c*", id="bold-plain-content"),
    pytest.param("**[x] {y}**", f"*{WJ}\\[{WJ}x{WJ}\\]{WJ} {WJ}\\{{{WJ}y{WJ}\\}}{WJ}*", id="bold-content-escapes"),
    pytest.param("**# of users**", f"*{WJ}\\#{WJ} of users*", id="bold-content-line-start"),
    pytest.param("**x_y**z", "*x_y{*}z", id="braced-closing-only"),
    # Braces cannot help a phrase containing its own delimiter: it loses the formatting only.
    pytest.param("a*x_y*", "ax_y", id="unwritable-italic-dropped"),
    # HTML: tags stripped, text kept.
    pytest.param("a <b>bold</b> <!-- hidden --> b", "a bold  b", id="html-inline"),
    pytest.param("<div>\n<p>Hello *there*</p>\n</div>", r"Hello \*there*", id="html-block"),
    pytest.param("", "", id="empty"),
]


@pytest.mark.parametrize(("markdown", "wiki"), CASES)
def test_markdown_becomes_wiki_markup(markdown: str, wiki: str) -> None:
    assert markdown_to_wiki(markdown) == wiki


TICKET = """\
## Purpose

Owners need a **one-click export** of their workspace so they can move data to another tool or keep \
an offline backup. Today this takes a support ticket and ~2 days.

## Scope

- **In scope**
  - Export of projects, tasks and comments as CSV files in one ZIP
  - A progress indicator for exports over 10,000 rows
- **Out of scope**
  1. Attachments (tracked in `PROJ-142`)
  2. Re-import -- a separate epic

> Note: exports must respect the owner's *current* permissions.

## Acceptance Criteria

1. Given an owner on the *Settings → Data* page, when they click **Export**, then a ZIP downloads within 60 s.
2. The ZIP contains one CSV per entity:

   | File | Columns | Notes |
   |------|---------|-------|
   | `projects.csv` | id, name, created_at | UTF-8, RFC 4180 |
   | `tasks.csv` | id, project_id, status | status is `open\\|done` |
   | `comments.csv` | id, task_id, body | |

3. Non-owners get `403 Forbidden`.
- [ ] Load test with 1M rows
- [x] Security review booked

### Example

```python
response = client.post("/api/v1/exports", json={"format": "csv"})
assert response.status_code == 202  # {"job_id": "..."}
```

See the [API guidelines](https://wiki.example.com/api_guidelines#exports) for naming, and \
https://example.com/docs_v2 for details.

---
_Generated by Augment_
"""

TICKET_WIKI = """\
h2. Purpose

Owners need a *one-click export* of their workspace so they can move data to another tool or keep \
an offline backup. Today this takes a support ticket and ~2 days.

h2. Scope

* *In scope*
** Export of projects, tasks and comments as CSV files in one ZIP
** A progress indicator for exports over 10,000 rows
* *Out of scope*
*# Attachments (tracked in {{PROJ-142}})
*# Re-import -- a separate epic

{quote}
Note: exports must respect the owner's _current_ permissions.
{quote}

h2. Acceptance Criteria

# Given an owner on the _Settings → Data_ page, when they click *Export*, then a ZIP downloads within 60 s.
# The ZIP contains one CSV per entity:

||File||Columns||Notes||
|{{projects.csv}}|id, name, created_at|UTF-8, RFC 4180|
|{{tasks.csv}}|id, project_id, status|status is {{open∣done}}|
|{{comments.csv}}|id, task_id, body| |

# Non-owners get {{403 Forbidden}}.

* ☐ Load test with 1M rows
* ☑ Security review booked

h3. Example

{code:python}
response = client.post("/api/v1/exports", json={"format": "csv"})
assert response.status_code == 202  # {"job_id": "..."}
{code}

See the [API guidelines|https://wiki.example.com/api_guidelines#exports] for naming, and \
https://example.com/docs_v2 for details.

----

_Generated by Augment_"""


def test_llm_written_ticket_description() -> None:
    assert markdown_to_wiki(TICKET) == TICKET_WIKI


def test_plain_prose_comes_back_unchanged() -> None:
    """Text with no markup in it needs no escapes: random prose of words, digits and
    everyday punctuation is returned as it was."""
    rng = random.Random(7)
    words = ["status", "API", "v2", "ok", "well-known", "a_b", "2", "x", "O'Brien", "e.g.", "50%", "naïve"]
    for _ in range(200):
        sentences = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 8))) + rng.choice(".,;:?") for _ in "ab"]
        prose = "Note: " + " ".join(sentences)
        assert markdown_to_wiki(prose) == prose


FRAGMENTS = [
    *"*_-+^~!?{}[]|()\\#:;`<>&\n \t",
    *string.ascii_letters[:6],
    "**",
    "__",
    "~~",
    "```",
    "\n\n",
    "  \n",
    "# ",
    "- ",
    "1. ",
    "> ",
    "    ",
    "- [ ] ",
    "| a | b |\n|---|---|\n",
    "[x](https://a.io/p_q)",
    "![i](p.png)",
    "<https://b.io>",
    "http://c.io/a_b",
    "<br>",
    "<div>",
    "<!-- c -->",
    "h1. ",
    "bq. ",
    "{code}",
    "(i)",
    ":)",
    "é",
    "—",
]


def test_any_input_converts_without_error() -> None:
    """A bounded fuzz: markdown-ish strings of every construct and special character."""
    rng = random.Random(20240607)
    for _ in range(400):
        markdown = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 60)))
        wiki = markdown_to_wiki(markdown)
        assert isinstance(wiki, str)
        assert markdown_to_wiki(markdown) == wiki
