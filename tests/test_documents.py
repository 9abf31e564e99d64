"""PRD/RFC documents as LLM context: page URLs, storage format → text, budgets, and the
reader against the sandbox's Confluence over HTTP."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

import aiohttp
import pytest

from bot.documents import (
    DocumentError,
    DocumentReader,
    cut_to_budget,
    estimate_tokens,
    page_id_from_url,
    storage_to_text,
)
from sandbox import Sandbox

STORY_TITLES = [
    "Export account data as CSV",
    "Choose the data sets to export",
    "Cancel a running export",
    "Download an export archive",
    "Show export progress",
]
# The demo PRD's story table sits in an expand macro under "📋 Story Ticket List"; its header
# is a row of bold <td> cells, so the text shows it as the first data row.
STORY_TABLE_AT = "## \U0001f4cb Story Ticket List\n\nStories for the first release:"
STORY_HEADER = "| Title | Description | Acceptance Criteria | Notes |"
CONTENT_ROUTE = "GET /wiki/rest/api/content/{page_id}"


def _demo_storage(name: str) -> str:
    return (resources.files("sandbox") / "data" / name).read_text(encoding="utf-8")


# --- page URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "page_id"),
    [
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/123456/Data+export+PRD", "123456"),
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/123456", "123456"),
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/123456/", "123456"),
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/123456/Title?focusedCommentId=9#Rollout", "123456"),
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/edit-v2/123456", "123456"),
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/edit-v2/123456?draftShareId=abc", "123456"),
        ("https://acme.atlassian.net/wiki/spaces/~712020abc/pages/77/Notes", "77"),
        ("https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=123456", "123456"),
        ("https://confluence.acme.com/pages/viewpage.action?spaceKey=ENG&pageId=42", "42"),
        ("https://acme.atlassian.net/wiki/spaces/ENG/blog/2024/05/01/555/Launch", "555"),
        ("http://127.0.0.1:8123/wiki/spaces/AUG/pages/98305/PRD%3A+Self-serve+data+export", "98305"),
        ("  http://127.0.0.1:8123/wiki/spaces/AUG/pages/98306/RFC  ", "98306"),
        # Not a page, or no id in the URL.
        ("https://acme.atlassian.net/wiki/x/AbCd", None),
        ("https://acme.atlassian.net/wiki/spaces/ENG/overview", None),
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/Title-only", None),
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/12x34/Title", None),
        ("https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=abc", None),
        ("https://acme.atlassian.net/wiki/pages/viewpage.action?title=PRD&spaceKey=ENG", None),
        ("https://acme.atlassian.net/browse/DEMO-1", None),
        ("https://acme.atlassian.net/wiki/spaces/ENG/pages/\u0661\u0662\u0663/Arabic-digits", None),
        ("ftp://acme.atlassian.net/wiki/spaces/ENG/pages/123456", None),
        ("/wiki/spaces/ENG/pages/123456", None),
        ("", None),
        ("not a url", None),
    ],
)
def test_page_id_from_url(url: str, page_id: str | None) -> None:
    assert page_id_from_url(url) == page_id


# --- storage format → text ---------------------------------------------------------------

STORY_TABLE = """<h2>Story Ticket List</h2>
<table data-layout="default" ac:local-id="0d7a"><colgroup><col style="width: 180.0px;" /><col /></colgroup><tbody>
<tr><th><p><strong>Title</strong></p></th><th><p><strong>Acceptance Criteria</strong></p></th></tr>
<tr><td><p>Export as CSV</p></td><td><p><strong>Given</strong> an owner <strong>when</strong> exporting
<strong>then</strong> a ZIP arrives.</p><p>Second&nbsp;paragraph.</p><ul><li><p>UTF&#8209;8 files</p>
<ul><li><p>with a header row</p></li></ul></li><li><p>ISO&nbsp;8601 dates</p></li></ul></td></tr>
<tr><td><p>Pipes | in text</p></td><td>Loose text, no &lt;p&gt;<br />and a break</td></tr>
</tbody></table>"""


def test_table_with_th_first_row_becomes_a_pipe_table() -> None:
    text = storage_to_text(STORY_TABLE)
    assert text.splitlines() == [
        "## Story Ticket List",
        "",
        "| Title | Acceptance Criteria |",
        "| --- | --- |",
        "| Export as CSV | Given an owner when exporting then a ZIP arrives. <br> Second paragraph. <br> "
        "- UTF-8 files <br> - with a header row <br> - ISO 8601 dates |",
        "| Pipes \\| in text | Loose text, no <p> <br> and a break |",
    ]


def test_table_without_header_row_gets_an_empty_header_and_spans_keep_columns() -> None:
    storage = (
        "<table><tbody>"
        "<tr><td><p>a</p></td><td><p>b</p></td><td><p>c</p></td></tr>"
        '<tr><td colspan="2"><p>wide</p></td><td><p>d</p></td></tr>'
        "<tr><td><p></p></td><td></td><td></td></tr>"  # an empty row adds nothing
        "<tr><th><p>side header</p></th><td><p>e</p></td></tr>"  # short row: padded
        "</tbody></table>"
    )
    assert storage_to_text(storage).splitlines() == [
        "|  |  |  |",
        "| --- | --- | --- |",
        "| a | b | c |",
        "| wide |  | d |",
        "| side header | e |  |",
    ]


def test_thead_header_and_table_nested_in_a_cell() -> None:
    storage = (
        "<table><thead><tr><th>Key</th><th>Value</th></tr></thead><tbody>"
        "<tr><td>outer</td><td><table><tbody><tr><th>x</th></tr><tr><td>y</td></tr></tbody></table></td></tr>"
        "</tbody></table>"
    )
    lines = storage_to_text(storage).splitlines()
    assert lines[:2] == ["| Key | Value |", "| --- | --- |"]
    assert len(lines) == 3, "the inner table's rows stay inside the outer cell"
    assert lines[2].startswith("| outer | ") and "x" in lines[2] and "y" in lines[2]


def test_headings_paragraphs_and_nested_lists() -> None:
    storage = """<h1>RFC:&nbsp;Export</h1>
<p>First   line
continues here.</p><p>It&rsquo;s &ldquo;quoted&rdquo; &ndash; and &amp; kept.</p>
<h3>Steps</h3>
<ol start="3"><li><p>Three</p><ol><li><p>Three a</p></li><li>Three b<ul><li>deep</li></ul></li></ol></li>
<li><p>Four</p><p>more about four</p></li></ol>
<ul><li><ul><li><p>only a sub-list</p></li></ul></li></ul>"""
    assert storage_to_text(storage) == (
        "# RFC: Export\n\n"
        "First line continues here.\n\n"
        "It\u2019s \u201cquoted\u201d \u2013 and & kept.\n\n"
        "### Steps\n\n"
        "3. Three\n"
        "  1. Three a\n"
        "  2. Three b\n"
        "    - deep\n"
        "4. Four\n"
        "   more about four\n\n"
        "-\n"
        "  - only a sub-list"
    )


def test_macros_links_tasks_and_dropped_content() -> None:
    storage = (
        '<ac:structured-macro ac:name="toc" ac:schema-version="1">'
        '<ac:parameter ac:name="maxLevel">2</ac:parameter></ac:structured-macro>\n'
        '<ac:structured-macro ac:name="info"><ac:rich-text-body><p>Status: <strong>Approved</strong>, owner '
        '<ac:link><ri:user ri:account-id="712020:3f0e" /></ac:link>.</p></ac:rich-text-body></ac:structured-macro>\n'
        '<ac:structured-macro ac:name="panel"><ac:parameter ac:name="title">Out of scope</ac:parameter>'
        "<ac:rich-text-body><p>Imports.</p></ac:rich-text-body></ac:structured-macro>\n"
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">python</ac:parameter>'
        '<ac:plain-text-body><![CDATA[if a[b[0]] < 2 and x > 1:\n    print("<p>&nbsp;</p>")]]>'
        "</ac:plain-text-body></ac:structured-macro>\n"
        '<p>See <ac:link><ri:page ri:content-title="PRD: Export" ri:space-key="AUG" /></ac:link>, '
        '<ac:link><ri:page ri:content-title="Ignored" /><ac:plain-text-link-body><![CDATA[the RFC]]>'
        '</ac:plain-text-link-body></ac:link>, <ac:link><ri:attachment ri:filename="flow.pdf" /></ac:link> '
        'and <a href="https://example.com/spec">the spec</a>.</p>\n'
        '<p>Ticket <ac:structured-macro ac:name="jira"><ac:parameter ac:name="key">DEMO-7</ac:parameter>'
        '</ac:structured-macro> is <ac:structured-macro ac:name="status"><ac:parameter ac:name="title">IN PROGRESS'
        '</ac:parameter></ac:structured-macro> since <time datetime="2024-05-14" />.'
        '<ac:emoticon ac:name="smile" /></p>\n'
        '<p><ac:image ac:width="400"><ri:attachment ri:filename="diagram.png" /></ac:image></p>\n'
        "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>complete</ac:task-status>"
        "<ac:task-body>Write the PRD</ac:task-body></ac:task>\n"
        "<ac:task><ac:task-id>2</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>"
        '<span>Review with <ac:link><ri:user ri:account-id="1" /></ac:link></span></ac:task-body></ac:task>'
        "</ac:task-list>"
    )
    assert storage_to_text(storage) == (
        "Status: Approved, owner @user.\n\n"
        "Out of scope:\n\n"
        "Imports.\n\n"
        '```python\nif a[b[0]] < 2 and x > 1:\n    print("<p>&nbsp;</p>")\n```\n\n'
        "See PRD: Export, the RFC, flow.pdf and the spec.\n\n"
        "Ticket DEMO-7 is [IN PROGRESS] since 2024-05-14.\n\n"
        "- [x] Write the PRD\n"
        "- [ ] Review with @user"
    )


def test_odd_markup_is_tolerated() -> None:
    # Unclosed <br>, a stray end tag, an unknown entity, an undeclared namespace, a comment,
    # inline code with a backtick, a fence inside a code body and a blockquote.
    storage = (
        "<p>one<br>two</span> &bogus; <x:thing a='1'>kept</x:thing><!-- hidden --> <code>a`b</code></p>"
        '<ac:structured-macro ac:name="noformat"><ac:plain-text-body><![CDATA[```\nx\n```]]>'
        "</ac:plain-text-body></ac:structured-macro>"
        "<blockquote><p>quoted</p><p>twice</p></blockquote><hr /><pre>  keep\n    spacing</pre>"
    )
    assert storage_to_text(storage) == (
        "one\ntwo &bogus; kept ``a`b``\n\n"
        "````\n```\nx\n```\n````\n\n"
        "> quoted\n>\n> twice\n\n"
        "---\n\n"
        "```\n  keep\n    spacing\n```"
    )


def test_deeply_nested_markup_does_not_exhaust_the_stack() -> None:
    storage = "<div>" * 5000 + "<p>deep</p>" + "</div>" * 5000
    assert storage_to_text(storage) == "deep"


def test_empty_and_whitespace_pages() -> None:
    assert storage_to_text("") == ""
    assert storage_to_text("<p>&nbsp;</p>\n<p>  </p><p><br /></p>") == ""


def test_demo_prd_story_table_comes_out_whole() -> None:
    text = storage_to_text(_demo_storage("prd-data-export.xml"))
    table = _table_after(text, STORY_TABLE_AT)
    assert table[2] == STORY_HEADER
    assert [row.split(" | ")[0].removeprefix("| ") for row in table[3:]] == STORY_TITLES
    assert all(row.count(" | ") == 3 for row in table), "every row has four cells"
    assert "<" not in text.replace("<br>", ""), "no markup left but the cell breaks"
    assert "&" not in text.replace(" & ", ""), "entities are decoded"
    assert "\u00a0" not in text and "\u2011" not in text


# --- budgets ---------------------------------------------------------------------------

SECTIONED = "\n\n".join(
    [
        "# Title",
        "Intro sentence one. Intro sentence two.",
        "## Alpha",
        "Alpha text is here. " * 10 + "Alpha ends.",
        "## Beta",
        "Beta first sentence. Beta second sentence. Beta third sentence. " * 3 + "Beta ends.",
        "## Gamma",
        "Gamma text is short but not that short.",
    ]
)


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("a" * 400) == 100
    # Characters outside ASCII count a token each (CJK, typographic dashes): the safe side.
    assert estimate_tokens("数据导出") == 4
    assert estimate_tokens("ab\u2013cd") == 2


def test_text_within_budget_is_returned_unchanged() -> None:
    text = "line with trailing spaces   \n\n\n\nanother"
    assert cut_to_budget(text, estimate_tokens(text)) == text
    assert cut_to_budget(SECTIONED, 10_000) == SECTIONED


def test_whole_sections_kept_in_order_then_the_next_cut_at_a_sentence() -> None:
    upto_alpha = SECTIONED.split("\n\n## Beta")[0]
    marker = "[… rest of this section and 1 more section omitted to fit the context budget]"
    expected = f"{upto_alpha}\n\n## Beta\n\nBeta first sentence.\n\n{marker}"
    # Just room for one sentence of Beta, and just not for two.
    budget = estimate_tokens(expected)
    assert estimate_tokens(expected.replace("sentence.", "sentence. Beta second sentence.")) > budget
    assert cut_to_budget(SECTIONED, budget) == expected


def test_sections_that_do_not_fit_are_counted_in_the_marker() -> None:
    result = cut_to_budget(SECTIONED, 40)
    assert result == (
        "# Title\n\nIntro sentence one. Intro sentence two.\n\n[… 3 more sections omitted to fit the context budget]"
    )


def test_one_section_too_big_is_cut_at_the_last_sentence_that_fits() -> None:
    text = " ".join(f"Sentence number {n} says something." for n in range(1, 200))
    for budget in (30, 57, 300):
        result = cut_to_budget(text, budget)
        body, marker = result.rsplit("\n\n", 1)
        assert marker == "[… rest of this section omitted to fit the context budget]"
        assert estimate_tokens(result) <= budget
        assert text.startswith(body) and body.endswith("says something.")
        # The last sentence that fits: one more would not.
        next_sentence = text[len(body) :].split(".")[0] + "."
        assert estimate_tokens(body + next_sentence + "\n\n" + marker) > budget


def test_table_is_cut_between_rows_with_its_header() -> None:
    rows = [f"| Story {n} | {'long description ' * 8}|" for n in range(1, 30)]
    table = "\n".join(["| Title | Description |", "| --- | --- |", *rows])
    text = f"## Stories\n\n{table}\n\n## After\n\nMore."
    for budget in range(80, 700, 37):
        result = cut_to_budget(text, budget)
        assert estimate_tokens(result) <= budget
        kept = result.split("\n\n")[1].splitlines()
        assert kept[:2] == ["| Title | Description |", "| --- | --- |"]
        assert kept[2:] == rows[: len(kept) - 2] and len(kept) > 2, "whole rows, in order, at least one"


def test_table_without_room_for_a_row_is_dropped_whole() -> None:
    table = "| A | B |\n| --- | --- |\n| " + "x" * 400 + " | y |"
    result = cut_to_budget(f"# Doc\n\nShort intro.\n\n## Table\n\n{table}", 40)
    assert "| A | B |" not in result and "## Table" not in result
    assert result.endswith("[… 1 more section omitted to fit the context budget]")


def test_code_block_is_never_cut_and_headings_in_it_are_not_sections() -> None:
    code = "```\n# not a heading\n\n" + "print('x')\n" * 60 + "```"
    text = f"# Doc\n\nIntro.\n\n{code}\n\n## Next\n\nText."
    result = cut_to_budget(text, 60)
    assert "```" not in result and "not a heading" not in result
    assert result == "# Doc\n\nIntro.\n\n[… rest of this section and 1 more section omitted to fit the context budget]"


def test_a_heading_left_without_its_content_is_dropped() -> None:
    text = "# Doc\n\nIntro.\n\n## Parent\n\n### Child\n\n" + "Child text goes on. " * 40
    result = cut_to_budget(text, 20)
    assert result == "# Doc\n\nIntro.\n\n[… 2 more sections omitted to fit the context budget]"


def test_tiny_budgets() -> None:
    assert cut_to_budget(SECTIONED, 14) == "[… 4 more sections omitted to fit the context budget]"
    assert cut_to_budget(SECTIONED, 5) == ""
    assert cut_to_budget(SECTIONED, 0) == ""
    assert cut_to_budget(SECTIONED, -3) == ""


def test_every_budget_on_the_demo_documents() -> None:
    # Each result fits, keeps whole lines or sentence-ended prefixes of lines, never part
    # of a table row, and grows (or stays) as the budget grows.
    for name in ("prd-data-export.xml", "rfc-data-export.xml"):
        text = storage_to_text(_demo_storage(name))
        lines = set(text.splitlines())
        previous = 0
        for budget in range(1, estimate_tokens(text) + 2):
            result = cut_to_budget(text, budget)
            assert estimate_tokens(result) <= budget
            body = re.sub(r"(?:^|\n\n)\[… [^\]]+\]$", "", result)
            for line in body.splitlines():
                if line.startswith("|"):
                    assert line in lines, f"cut table row at budget {budget}: {line!r}"
                elif line and line not in lines:
                    assert line.endswith((".", "?", "!")), f"cut mid-sentence at budget {budget}: {line!r}"
                    assert any(full.startswith(line) for full in lines)
            assert len(body) >= previous
            previous = len(body)
        assert cut_to_budget(text, estimate_tokens(text)) == text


# --- the reader, against the sandbox ---------------------------------------------------


async def _requests(session: aiohttp.ClientSession) -> dict[str, Any]:
    async with session.get("/_sandbox/requests") as response:
        assert response.status == 200
        return await response.json()


async def _content_calls(session: aiohttp.ClientSession) -> int:
    return int((await _requests(session))["by_route"].get(CONTENT_ROUTE, 0))


async def _clear_requests(session: aiohttp.ClientSession) -> None:
    async with session.delete("/_sandbox/requests") as response:
        assert response.status == 204


async def _epic_links(session: aiohttp.ClientSession) -> tuple[str, str]:
    async with session.get("/rest/api/2/issue/DEMO-1", params={"fields": "customfield_10050,customfield_10051"}) as r:
        assert r.status == 200
        fields = (await r.json())["fields"]
    return fields["customfield_10050"], fields["customfield_10051"]


def _reader(sandbox: Sandbox, **kwargs: Any) -> DocumentReader:
    return DocumentReader(sandbox.jira_url, sandbox.bot.email, sandbox.bot.api_token, **kwargs)


def _table_after(text: str, heading: str) -> list[str]:
    after = text.split(f"{heading}\n\n", 1)[1]
    return after.split("\n\n", 1)[0].splitlines()


async def test_reads_the_epics_prd_and_rfc(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    prd_url, rfc_url = await _epic_links(jira_http)
    reader = _reader(sandbox)
    prd, rfc = await asyncio.gather(reader.read(prd_url), reader.read(rfc_url))

    assert (prd.url, prd.page_id, prd.title) == (prd_url, "98305", "PRD: Self-serve data export")
    table = _table_after(prd.text, STORY_TABLE_AT)
    assert table[1:3] == ["| --- | --- | --- | --- |", STORY_HEADER]
    assert [row.split(" | ")[0].removeprefix("| ") for row in table[3:]] == STORY_TITLES
    assert "Given I am a workspace owner when I request a CSV export then" in table[3]
    assert "<br> - Files are UTF-8 encoded with a header row." in table[3]

    assert (rfc.page_id, rfc.title) == ("98306", "RFC: Data export service")
    assert '```json\n{"datasets": ["projects", "members"]' in rfc.text
    assert "implements the Self-serve data export PRD." in rfc.text
    assert _table_after(rfc.text, "## Security & Performance")[0] == "| Concern | Mitigation |"
    assert re.search(r"^1\. Internal dogfooding", rfc.text, re.MULTILINE)


async def test_one_fetch_per_page_per_reader(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    prd_url, _ = await _epic_links(jira_http)
    await _clear_requests(jira_http)
    with ThreadPoolExecutor(max_workers=2) as executor:
        reader = _reader(sandbox, executor=executor)
        first = await reader.read(prd_url)
        second = await reader.read(prd_url)
        # Concurrent reads, and the same page by its older URL form, share the fetch.
        same_page = f"{sandbox.jira_url}/wiki/pages/viewpage.action?pageId=98305"
        batch = await asyncio.gather(*(reader.read(prd_url) for _ in range(20)), reader.read(same_page))
    assert first == second and all(document.text == first.text for document in batch)
    assert batch[-1].url == same_page
    assert await _content_calls(jira_http) == 1

    # Concurrent first reads on a fresh reader: still one call.
    await _clear_requests(jira_http)
    fresh = _reader(sandbox)
    await asyncio.gather(*(fresh.read(prd_url) for _ in range(10)))
    assert await _content_calls(jira_http) == 1

    # A new reader (a new job) fetches again: pages may have changed in between.
    await _reader(sandbox).read(prd_url)
    assert await _content_calls(jira_http) == 2


async def test_unknown_page_names_the_page_and_is_remembered(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession
) -> None:
    url = f"{sandbox.jira_url}/wiki/spaces/AUG/pages/424242/Missing+PRD"
    reader = _reader(sandbox)
    await _clear_requests(jira_http)
    for _ in range(2):
        with pytest.raises(DocumentError) as raised:
            await reader.read(url)
        assert raised.value.reason == "not_found" and raised.value.url == url
        assert url in str(raised.value) and "424242" in str(raised.value) and "not found" in str(raised.value)
    assert await _content_calls(jira_http) == 1, "a missing page stays missing within a job"


async def test_wrong_token_is_a_permission_error_without_the_token(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession
) -> None:
    prd_url, _ = await _epic_links(jira_http)
    wrong = "not-the-token-3f9a"
    reader = DocumentReader(sandbox.jira_url, sandbox.bot.email, wrong)
    with pytest.raises(DocumentError) as raised:
        await reader.read(prd_url)
    message = str(raised.value)
    assert raised.value.reason == "no_permission"
    assert "credentials" in message and "401" in message and prd_url in message
    assert wrong not in message and sandbox.bot.api_token not in message


async def test_urls_that_are_not_pages_of_this_site_are_refused_without_a_call(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession
) -> None:
    reader = _reader(sandbox)
    await _clear_requests(jira_http)
    cases = {
        f"{sandbox.jira_url}/browse/DEMO-1": ("not_a_page_url", "not a Confluence page URL"),
        f"{sandbox.jira_url}/wiki/x/AbCd": ("not_a_page_url", "short link"),
        "https://elsewhere.atlassian.net/wiki/spaces/AUG/pages/98305/PRD": ("other_site", sandbox.jira_url),
        "https://user:hunter2@elsewhere.example/wiki/spaces/AUG/pages/98305": ("other_site", "elsewhere.example"),
    }
    for url, (reason, words) in cases.items():
        with pytest.raises(DocumentError) as raised:
            await reader.read(url)
        assert raised.value.reason == reason and words in str(raised.value)
        assert "hunter2" not in str(raised.value)
    assert (await _requests(jira_http))["total"] == 0


async def test_server_errors_are_reported_and_not_remembered(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession
) -> None:
    prd_url, _ = await _epic_links(jira_http)
    reader = _reader(sandbox)
    await _clear_requests(jira_http)
    sandbox.set_faults(server_error_rate=1.0)
    with pytest.raises(DocumentError) as raised:
        await reader.read(prd_url)
    assert raised.value.reason == "failed" and re.search(r"HTTP 50[0-4]", str(raised.value))

    sandbox.set_faults(server_error_rate=0.0, rate_limit_rate=1.0, retry_after_seconds=0)
    with pytest.raises(DocumentError) as raised:
        await reader.read(prd_url)
    assert raised.value.reason == "rate_limited" and "429" in str(raised.value)

    sandbox.set_faults(rate_limit_rate=0.0)
    document = await reader.read(prd_url)
    assert document.page_id == "98305"
    assert (await _requests(jira_http))["by_status"].get("200") == 1


async def test_confluence_that_does_not_answer_in_time(sandbox: Sandbox) -> None:
    sandbox.set_faults(latency_ms=2500)
    reader = _reader(sandbox, timeout=1.0)
    with pytest.raises(DocumentError) as raised:
        await reader.read(f"{sandbox.jira_url}/wiki/spaces/AUG/pages/98306/RFC")
    assert raised.value.reason == "unreachable" and "did not answer in time" in str(raised.value)


async def test_confluence_that_cannot_be_reached() -> None:
    # A loopback port nobody listens on: bound, then closed.
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    site = f"http://127.0.0.1:{port}"
    reader = DocumentReader(site, "bot@example.com", "token", timeout=2.0)
    with pytest.raises(DocumentError) as raised:
        await reader.read(f"{site}/wiki/spaces/AUG/pages/98305/PRD")
    assert raised.value.reason == "unreachable" and "could not be reached" in str(raised.value)
