"""`/augment` command lines found in Jira comment bodies: wiki markup strings and ADF documents."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bot.commands import CommandArgumentError, CommandLine, comment_text, find_commands, job_argument
from bot.commands.parsing import MAX_COMMANDS_PER_COMMENT

NBSP = "\u00a0"  # Jira's editors often put a no-break space after a word


def command(text: str, name: str, *arguments: str) -> CommandLine:
    return CommandLine(name=name, arguments=arguments, text=text)


DESCRIBE = command("/augment describe", "describe")

# --- wiki markup ------------------------------------------------------------------------

WIKI_CASES = [
    # The command line itself.
    pytest.param("/augment describe", [DESCRIBE], id="plain"),
    pytest.param("/augment", [command("/augment", "")], id="bare"),
    pytest.param("/augment   ", [command("/augment", "")], id="bare-trailing-space"),
    pytest.param("   /augment describe  ", [DESCRIBE], id="leading-trailing-whitespace"),
    pytest.param("\t/augment describe", [command("/augment describe", "describe")], id="leading-tab"),
    pytest.param("/AUGMENT Describe", [command("/AUGMENT Describe", "describe")], id="upper-case-name-lowered"),
    pytest.param("/Augment describe", [command("/Augment describe", "describe")], id="mixed-case-prefix"),
    pytest.param(
        "/augment apply 3f2cA9e1",
        [command("/augment apply 3f2cA9e1", "apply", "3f2cA9e1")],
        id="argument-case-kept",
    ),
    pytest.param(
        "/augment tests   unit \t e2e",
        [command("/augment tests   unit \t e2e", "tests", "unit", "e2e")],
        id="arguments-split-on-any-whitespace",
    ),
    pytest.param(
        "/augment describe, please.",
        [command("/augment describe, please.", "describe,", "please.")],
        id="trailing-punctuation-kept",
    ),
    pytest.param(
        f"/augment{NBSP}apply{NBSP}3f2c",
        [command(f"/augment{NBSP}apply{NBSP}3f2c", "apply", "3f2c")],
        id="no-break-spaces",
    ),
    pytest.param("/augment\tdescribe", [command("/augment\tdescribe", "describe")], id="tab-after-prefix"),
    # Not commands.
    pytest.param("/augmentation describe", [], id="augmentation"),
    pytest.param("/augment:describe", [], id="colon-after-prefix"),
    pytest.param("/augment/describe", [], id="slash-after-prefix"),
    pytest.param("augment describe", [], id="no-slash"),
    pytest.param("please /augment describe", [], id="mid-sentence"),
    pytest.param("Hi team, run /augment describe later", [], id="mid-sentence-long"),
    pytest.param("*/augment describe*", [], id="bold-not-stripped"),
    pytest.param("_/augment describe_", [], id="italic-not-stripped"),
    pytest.param("* /augment describe", [], id="bullet-not-stripped"),
    pytest.param("# /augment describe", [], id="numbered-not-stripped"),
    pytest.param("h2. /augment describe", [], id="heading-not-stripped"),
    pytest.param("{{/augment describe}}", [], id="monospace"),
    pytest.param("{{/augment}} describe", [], id="monospace-prefix-only"),
    pytest.param("bq. /augment describe", [], id="bq-line"),
    pytest.param("  bq. /augment describe", [], id="bq-line-indented"),
    pytest.param("> /augment describe", [], id="markdown-quote"),
    pytest.param(">/augment describe", [], id="markdown-quote-no-space"),
    pytest.param("`/augment describe`", [], id="markdown-inline-code"),
    pytest.param("", [], id="empty"),
    pytest.param("   \n\n  ", [], id="blank-lines"),
    # Several lines, several commands, in order.
    pytest.param(
        "Thanks!\n/augment describe\nand then\n  /augment apply 3f2c\n/augment tests unit",
        [DESCRIBE, command("/augment apply 3f2c", "apply", "3f2c"), command("/augment tests unit", "tests", "unit")],
        id="several-in-order",
    ),
    pytest.param("/augment describe\r\n/augment describe\r\n", [DESCRIBE, DESCRIBE], id="crlf-and-repeats"),
    pytest.param("bq. quoted\n/augment describe", [DESCRIBE], id="bq-is-one-line-only"),
    pytest.param("> quoted\n/augment describe", [DESCRIBE], id="markdown-quote-is-one-line-only"),
    # {code} and {noformat}.
    pytest.param("{code}\n/augment describe\n{code}", [], id="code-block"),
    pytest.param("{code:java}\n/augment describe\n{code}", [], id="code-block-language"),
    pytest.param("{code:title=Run.sh|borderStyle=solid}\n/augment describe\n{code}", [], id="code-block-parameters"),
    pytest.param("{noformat}\n/augment describe\n{noformat}", [], id="noformat-block"),
    pytest.param("{noformat:nopanel=true}\n/augment describe\n{noformat}", [], id="noformat-parameters"),
    pytest.param("{CODE}\n/augment describe\n{CODE}", [], id="code-tag-any-case"),
    pytest.param(
        "{code}\n/augment apply 1\n{code}\n/augment describe\n{noformat}\n/augment apply 2\n{noformat}",
        [DESCRIBE],
        id="between-blocks",
    ),
    pytest.param("{code}/augment describe{code}\n/augment describe", [DESCRIBE], id="code-same-line"),
    pytest.param("{code}x{code}\n/augment describe", [DESCRIBE], id="code-closed-same-line"),
    pytest.param("{code:bash}/augment describe\n{code}", [], id="text-after-opening-tag"),
    pytest.param("{code}\nx\n{code} /augment describe", [], id="text-after-closing-tag-not-line-start"),
    pytest.param("See {code}\n/augment describe\n{code}", [], id="opening-tag-mid-line"),
    pytest.param(
        "/augment tests {code:java}\n/augment describe\n{code}",
        [command("/augment tests", "tests")],
        id="command-cut-at-opening-tag",
    ),
    pytest.param(
        "/augment tests {code}x{code} unit",
        [command("/augment tests", "tests")],
        id="command-cut-at-inline-block",
    ),
    pytest.param("{code}\n{quote}\n{code}\n/augment describe", [DESCRIBE], id="quote-tag-inside-code-is-literal"),
    pytest.param("{code}\n{noformat}\n{code}\n/augment describe", [DESCRIBE], id="noformat-tag-inside-code-is-literal"),
    pytest.param("{code}\n{code:java}\n/augment describe\n{code}", [], id="only-bare-tag-closes-code"),
    pytest.param("{code}\n/augment describe", [], id="unclosed-code-runs-to-end"),
    pytest.param("{noformat}\n/augment describe", [], id="unclosed-noformat-runs-to-end"),
    # {quote}.
    pytest.param("{quote}\n/augment describe\n{quote}", [], id="quote-block"),
    pytest.param("{quote}/augment describe{quote}\n/augment describe", [DESCRIBE], id="quote-same-line"),
    pytest.param("{quote}Bob wrote:\n/augment describe\n{quote}\n/augment describe", [DESCRIBE], id="quote-then-own"),
    pytest.param("{quote}\n{code}\n{quote}\n/augment describe\n{code}\n{quote}", [], id="code-inside-quote"),
    pytest.param(
        "{quote}\n{code}\n{quote}\n{code}\n{quote}\n/augment describe",
        [DESCRIBE],
        id="quote-tag-in-code-in-quote-is-literal",
    ),
    pytest.param("{quote}\n/augment describe", [], id="unclosed-quote-runs-to-end"),
    # Markdown fences.
    pytest.param("```\n/augment describe\n```\n/augment describe", [DESCRIBE], id="fence"),
    pytest.param("```bash\n/augment describe\n```", [], id="fence-info-string"),
    pytest.param("  ```\n/augment describe\n  ```  ", [], id="fence-indented"),
    pytest.param("````\n```\n/augment apply 1\n````\n/augment describe", [DESCRIBE], id="fence-closes-on-longer"),
    pytest.param("```\n{code}\n```\n/augment describe", [DESCRIBE], id="code-tag-inside-fence-is-literal"),
    pytest.param("{code}\n```\n{code}\n/augment describe", [DESCRIBE], id="fence-inside-code-is-literal"),
    pytest.param("{quote}\n```\n{quote}\n```\n{quote}\n/augment describe", [DESCRIBE], id="fence-inside-quote"),
    pytest.param("```x```\n/augment describe", [DESCRIBE], id="one-line-backticks-are-not-a-fence"),
    pytest.param("```\n/augment describe", [], id="unclosed-fence-runs-to-end"),
    pytest.param("```\n/augment describe\n``` more\n/augment describe", [], id="fence-closer-takes-nothing-after"),
    # A realistic comment.
    pytest.param(
        "Hi [~accountid:5b10a2844c20165700ede21g], the last run failed:\n"
        "{noformat}\n"
        "$ /augment tests unit\n"
        "error: timeout\n"
        "{noformat}\n"
        "{quote}/augment apply 1111{quote}\n"
        "Retrying:\n"
        "/augment tests unit\n"
        "/augment apply 9F8e7d",
        [command("/augment tests unit", "tests", "unit"), command("/augment apply 9F8e7d", "apply", "9F8e7d")],
        id="realistic",
    ),
]


@pytest.mark.parametrize(("body", "expected"), WIKI_CASES)
def test_wiki_commands(body: str, expected: list[CommandLine]) -> None:
    assert find_commands(body) == expected


# --- ADF --------------------------------------------------------------------------------


def doc(*content: Any) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(content)}


def paragraph(*content: Any) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def text(value: str, *marks: str) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = [{"type": mark} for mark in marks]
    return node


HARD_BREAK = {"type": "hardBreak"}


def bullet_list(*items: str) -> dict[str, Any]:
    return {"type": "bulletList", "content": [{"type": "listItem", "content": [paragraph(text(i))]} for i in items]}


ADF_CASES = [
    pytest.param(
        {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "/augment describe"}]}],
        },
        [DESCRIBE],
        id="plain",
    ),
    pytest.param(
        doc(paragraph(text("  /AUGMENT Apply 3F2c"))), [command("/AUGMENT Apply 3F2c", "apply", "3F2c")], id="case"
    ),
    pytest.param(doc(paragraph(text("/augment"))), [command("/augment", "")], id="bare"),
    pytest.param(
        doc(paragraph(text(f"/augment{NBSP}tests{NBSP}unit"))),
        [command(f"/augment{NBSP}tests{NBSP}unit", "tests", "unit")],
        id="no-break-spaces",
    ),
    pytest.param(doc(paragraph(text("/augmentation describe"))), [], id="augmentation"),
    pytest.param(doc(paragraph(text("please /augment describe"))), [], id="mid-sentence"),
    pytest.param(doc(), [], id="empty-doc"),
    pytest.param(doc(paragraph()), [], id="empty-paragraph"),
    # Text joined per block, across text nodes and marks.
    pytest.param(
        doc(paragraph(text("/augment "), text("describe", "strong"))),
        [DESCRIBE],
        id="joined-across-text-nodes",
    ),
    pytest.param(doc(paragraph(text("/augment describe", "strong"))), [DESCRIBE], id="bold-is-a-command"),
    pytest.param(
        doc(paragraph(text("/augment apply "), text("3f2c", "code"))),
        [command("/augment apply 3f2c", "apply", "3f2c")],
        id="code-marked-argument-kept",
    ),
    pytest.param(doc(paragraph(text("/augment describe", "code"))), [], id="code-marked-line"),
    pytest.param(doc(paragraph(text("  "), text("/augment describe", "code"))), [], id="code-marked-after-blank"),
    pytest.param(doc(paragraph(text("see "), text("/augment describe", "code"))), [], id="code-marked-mid-line"),
    pytest.param(doc(paragraph(text("/augment", "code"), text(" describe"))), [], id="code-marked-prefix"),
    pytest.param(
        doc(paragraph(text("/augment describe", "code", "strong"))),
        [],
        id="code-among-other-marks",
    ),
    pytest.param(
        doc(paragraph(text("Run "), text("/augment", "strong")), paragraph(text("describe"))),
        [],
        id="blocks-are-not-joined",
    ),
    # hardBreak splits a paragraph into lines.
    pytest.param(
        doc(paragraph(text("Please:"), HARD_BREAK, text("/augment describe"), HARD_BREAK, text("/augment apply 7"))),
        [DESCRIBE, command("/augment apply 7", "apply", "7")],
        id="hard-breaks",
    ),
    pytest.param(
        doc(paragraph(text("/augment tests"), HARD_BREAK, text("unit"))),
        [command("/augment tests", "tests")],
        id="hard-break-ends-arguments",
    ),
    pytest.param(doc(paragraph(text("a\n/augment describe"))), [DESCRIBE], id="newline-in-text-node"),
    # Headings, lists, tables, panels and other containers hold commands.
    pytest.param(
        doc({"type": "heading", "attrs": {"level": 2}, "content": [text("/augment describe")]}),
        [DESCRIBE],
        id="heading",
    ),
    pytest.param(
        doc(bullet_list("/augment describe", "/augment apply 3f2c")),
        [DESCRIBE, command("/augment apply 3f2c", "apply", "3f2c")],
        id="bullet-list",
    ),
    pytest.param(
        doc(
            {
                "type": "orderedList",
                "attrs": {"order": 1},
                "content": [
                    {"type": "listItem", "content": [paragraph(text("first")), bullet_list("/augment describe")]},
                ],
            }
        ),
        [DESCRIBE],
        id="nested-list",
    ),
    pytest.param(
        doc(
            {
                "type": "table",
                "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableCell", "attrs": {}, "content": [paragraph(text("/augment describe"))]},
                            {"type": "tableCell", "attrs": {}, "content": [paragraph(text("/augment tests"))]},
                        ],
                    }
                ],
            }
        ),
        [DESCRIBE, command("/augment tests", "tests")],
        id="table-cells",
    ),
    pytest.param(
        doc({"type": "panel", "attrs": {"panelType": "info"}, "content": [paragraph(text("/augment describe"))]}),
        [DESCRIBE],
        id="panel",
    ),
    pytest.param(
        doc(
            {
                "type": "taskList",
                "attrs": {"localId": "t1"},
                "content": [
                    {
                        "type": "taskItem",
                        "attrs": {"localId": "i1", "state": "TODO"},
                        "content": [text("/augment describe")],
                    }
                ],
            }
        ),
        [DESCRIBE],
        id="task-item-inline-content",
    ),
    pytest.param(
        doc({"type": "futureContainer", "content": [{"type": "futureBlock", "content": [text("/augment describe")]}]}),
        [DESCRIBE],
        id="unknown-node-types-walked",
    ),
    # codeBlock and blockquote, and everything in them, are skipped.
    pytest.param(
        doc({"type": "codeBlock", "attrs": {"language": "bash"}, "content": [text("/augment describe")]}),
        [],
        id="code-block",
    ),
    pytest.param(
        doc({"type": "codeBlock", "attrs": {}, "content": [text("echo hi\n/augment describe\n")]}),
        [],
        id="code-block-multiline",
    ),
    pytest.param(doc({"type": "blockquote", "content": [paragraph(text("/augment describe"))]}), [], id="blockquote"),
    pytest.param(
        doc({"type": "blockquote", "content": [bullet_list("/augment describe")]}),
        [],
        id="list-inside-blockquote",
    ),
    pytest.param(
        doc({"type": "blockquote", "content": [{"type": "futureBlock", "content": [text("/augment describe")]}]}),
        [],
        id="unknown-inside-blockquote",
    ),
    pytest.param(
        doc(
            {"type": "blockquote", "content": [paragraph(text("/augment apply 1"))]},
            paragraph(text("/augment describe")),
            {"type": "codeBlock", "content": [text("/augment apply 2")]},
        ),
        [DESCRIBE],
        id="between-skipped-blocks",
    ),
    # Inline atoms give their text, for arguments too.
    pytest.param(
        doc(
            paragraph(
                text("/augment assign "),
                {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Alice", "accessLevel": ""}},
            )
        ),
        [command("/augment assign @Alice", "assign", "@Alice")],
        id="mention-argument",
    ),
    pytest.param(
        doc(paragraph({"type": "mention", "attrs": {"id": "x", "text": "@Bot"}}, text(" /augment describe"))),
        [],
        id="mention-first-is-not-a-command",
    ),
    # Several commands, in document order.
    pytest.param(
        doc(
            paragraph(text("Hi, two things:")),
            paragraph(text("/augment describe")),
            bullet_list("not this one", "/augment tests unit"),
            paragraph(text("/augment apply "), text("AbC123", "code")),
        ),
        [
            DESCRIBE,
            command("/augment tests unit", "tests", "unit"),
            command("/augment apply AbC123", "apply", "AbC123"),
        ],
        id="several-in-order",
    ),
]


@pytest.mark.parametrize(("body", "expected"), ADF_CASES)
def test_adf_commands(body: dict[str, Any], expected: list[CommandLine]) -> None:
    assert find_commands(body) == expected


# --- bodies of the wrong shape ---------------------------------------------------------

MALFORMED_CASES = [
    pytest.param(None, [], "", id="none"),
    pytest.param({}, [], "", id="empty-dict"),
    pytest.param({"type": "doc"}, [], "", id="doc-without-content"),
    pytest.param({"type": "doc", "content": None}, [], "", id="content-none"),
    pytest.param({"type": "doc", "content": "/augment describe"}, [], "", id="content-string"),
    pytest.param({"type": "doc", "content": {"type": "text", "text": "x"}}, [], "", id="content-dict"),
    pytest.param(
        doc("/augment apply 1", 3, None, ["/augment apply 2"], paragraph(text("/augment describe"))),
        [DESCRIBE],
        "/augment describe",
        id="non-dict-nodes-skipped",
    ),
    pytest.param(
        doc(paragraph({"type": "text"}, {"type": "text", "text": 5}, None, text("/augment describe"))),
        [DESCRIBE],
        "/augment describe",
        id="text-nodes-without-text",
    ),
    pytest.param(
        doc(paragraph({"type": "text", "text": "/augment describe", "marks": "code"})),
        [DESCRIBE],
        "/augment describe",
        id="marks-not-a-list",
    ),
    pytest.param(
        doc(paragraph({"type": "text", "text": "/augment describe", "marks": [None, "code", {"attrs": {}}]})),
        [DESCRIBE],
        "/augment describe",
        id="marks-of-wrong-shape",
    ),
    pytest.param(
        doc(paragraph({"type": "text", "text": "/augment describe", "marks": [{"type": "code"}, None]})),
        [],
        "/augment describe",
        id="code-mark-among-junk",
    ),
    pytest.param(
        doc(paragraph({"type": "mention"}, {"type": "emoji", "attrs": None}, {"type": "status", "attrs": {"text": 3}})),
        [],
        "",
        id="atoms-without-attributes",
    ),
    pytest.param(
        doc(paragraph({"content": [text("/augment describe")]})),
        [DESCRIBE],
        "/augment describe",
        id="node-without-type-walked",
    ),
    pytest.param(
        {"content": [text("/augment describe")]},
        [DESCRIBE],
        "/augment describe",
        id="root-without-type",
    ),
    pytest.param(
        doc(text("/augment describe"), HARD_BREAK, text("/augment tests")),
        [DESCRIBE, command("/augment tests", "tests")],
        "/augment describe\n/augment tests",
        id="inline-nodes-directly-in-doc",
    ),
    pytest.param(
        doc(paragraph(text("/augment apply"), paragraph(text("/augment describe")), text(" 1"))),
        [command("/augment apply", "apply"), DESCRIBE],
        "/augment apply\n/augment describe\n 1",
        id="block-inside-paragraph",
    ),
    pytest.param(
        {"type": "paragraph", "content": [text("/augment describe")]},
        [DESCRIBE],
        "/augment describe",
        id="root-is-not-a-doc",
    ),
    pytest.param(
        {"id": "10001", "body": doc(paragraph(text("/augment describe")))},
        [],
        "",
        id="comment-object-is-not-a-body",
    ),
    pytest.param(["/augment describe"], [], "", id="list-body"),
    pytest.param(b"/augment describe", [], "", id="bytes-body"),
]


@pytest.mark.parametrize(("body", "commands", "plain_text"), MALFORMED_CASES)
def test_bodies_of_the_wrong_shape(body: Any, commands: list[CommandLine], plain_text: str) -> None:
    assert find_commands(body) == commands
    assert comment_text(body) == plain_text


@pytest.mark.parametrize(("container", "expected"), [("panel", [DESCRIBE]), ("blockquote", [])])
def test_deeply_nested_adf(container: str, expected: list[CommandLine]) -> None:
    # Deeper than Python's recursion limit: the walk must not recurse.
    node: dict[str, Any] = paragraph(text("/augment describe"))
    for _ in range(5000):
        node = {"type": container, "content": [node]}
    assert find_commands(doc(node)) == expected
    assert comment_text(doc(node)) == "/augment describe"


def test_random_adf_never_raises() -> None:
    generator = random.Random(20240611)
    pieces: list[Any] = [None, 1, "x", [], {}, HARD_BREAK, text("/augment a"), text("/augment b", "code")]
    kinds = ["doc", "paragraph", "codeBlock", "blockquote", "listItem", "text", "mention", "date", None, 7]

    def random_node(depth: int) -> Any:
        if depth == 0 or generator.random() < 0.3:
            return generator.choice(pieces)
        node: dict[str, Any] = {"type": generator.choice(kinds)}
        if generator.random() < 0.8:
            node["content"] = [random_node(depth - 1) for _ in range(generator.randint(0, 4))]
        if generator.random() < 0.3:
            node["text"] = generator.choice(["/augment c", None, 3])
        if generator.random() < 0.3:
            node["attrs"] = generator.choice([None, {}, {"text": "@x", "timestamp": "bad"}, {"timestamp": "9" * 30}])
        if generator.random() < 0.3:
            node["marks"] = generator.choice([None, [{"type": "code"}], "code", [None]])
        return node

    for _ in range(500):
        body = random_node(6)
        commands = find_commands(body)
        assert all(isinstance(found, CommandLine) and found.text.lower().startswith("/augment") for found in commands)
        assert isinstance(comment_text(body), str)


# --- comment_text -----------------------------------------------------------------------

COMMENT_TEXT_CASES = [
    pytest.param("", "", id="empty-string"),
    pytest.param("*bold* {code}\nx\n{code}\r\n", "*bold* {code}\nx\n{code}\r\n", id="wiki-returned-as-is"),
    pytest.param(doc(), "", id="empty-doc"),
    pytest.param(doc(paragraph(text("/augment describe"))), "/augment describe", id="one-paragraph"),
    pytest.param(
        doc(paragraph(text("Hello "), text("world", "strong"), text("!")), paragraph(text("Second"))),
        "Hello world!\nSecond",
        id="paragraphs",
    ),
    pytest.param(doc(paragraph(text("a"), HARD_BREAK, text("b"))), "a\nb", id="hard-break"),
    pytest.param(doc(paragraph(text("a"), HARD_BREAK, HARD_BREAK, text("b"))), "a\n\nb", id="double-hard-break"),
    pytest.param(doc(paragraph(text("a"), HARD_BREAK)), "a", id="trailing-hard-break"),
    pytest.param(doc(paragraph(text("a")), paragraph(), paragraph(text("b"))), "a\nb", id="empty-paragraph-no-line"),
    pytest.param(
        doc(
            {"type": "heading", "attrs": {"level": 1}, "content": [text("Title")]},
            bullet_list("one", "two"),
            {"type": "codeBlock", "attrs": {"language": "python"}, "content": [text("print(1)\nprint(2)")]},
            {"type": "blockquote", "content": [paragraph(text("/augment describe"))]},
            paragraph(text("end")),
        ),
        "Title\none\ntwo\nprint(1)\nprint(2)\n/augment describe\nend",
        id="code-and-quotes-included",
    ),
    pytest.param(
        doc(
            paragraph(
                {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Alice"}},
                text(" "),
                {"type": "emoji", "attrs": {"shortName": ":smile:", "id": "1f604", "text": "😄"}},
                text(" "),
                {"type": "emoji", "attrs": {"shortName": ":custom:", "id": "abc"}},
                text(" "),
                {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue", "localId": "s1"}},
                text(" "),
                {"type": "inlineCard", "attrs": {"url": "https://example.atlassian.net/browse/DEMO-1"}},
                text(" "),
                {"type": "date", "attrs": {"timestamp": "1718064000000"}},
                text(" "),
                {"type": "date", "attrs": {"timestamp": "tomorrow"}},
            )
        ),
        "@Alice 😄 :custom: IN PROGRESS https://example.atlassian.net/browse/DEMO-1 2024-06-11 tomorrow",
        id="inline-atoms",
    ),
    pytest.param(
        doc(paragraph(text("see"), {"type": "mediaInline", "attrs": {"id": "m"}}, text(" this"))),
        "see this",
        id="unknown-inline-atom-ignored",
    ),
]


@pytest.mark.parametrize(("body", "expected"), COMMENT_TEXT_CASES)
def test_comment_text(body: str | dict[str, Any], expected: str) -> None:
    assert comment_text(body) == expected


def test_command_line_is_frozen_and_hashable() -> None:
    found = find_commands("/augment apply 3f2c")[0]
    assert found == CommandLine("apply", ("3f2c",), "/augment apply 3f2c")
    assert {found: 1}[CommandLine("apply", ("3f2c",), "/augment apply 3f2c")] == 1
    with pytest.raises(AttributeError):
        found.name = "describe"  # type: ignore[misc]


# --- job ids named as arguments ----------------------------------------------------------

JOB_ID = "3f2c1a9e-5b7d-4c1e-9f0a-2b3c4d5e6f70"


@pytest.mark.parametrize("name", ["cancel", "apply"])
def test_a_named_job_must_be_a_job_id(name: str) -> None:
    (line,) = find_commands(f"/augment {name} {JOB_ID.upper()}")
    assert job_argument(line) == JOB_ID  # pasted in upper case, found in lower case
    (bare,) = find_commands(f"/augment {name}")
    assert job_argument(bare) is None


@pytest.mark.parametrize(
    "argument",
    ["a" * 4_100, "3f2c", JOB_ID + "0", JOB_ID[:-1] + "g", JOB_ID + ".outcome", "*", ">", "{{" + JOB_ID + "}}"],
)
def test_anything_else_is_refused_with_a_short_reason(argument: str) -> None:
    (line,) = find_commands(f"/augment cancel {argument}")
    with pytest.raises(CommandArgumentError) as refused:
        job_argument(line)
    assert "is not a job id" in str(refused.value)
    assert len(str(refused.value)) < 200  # never the whole argument back


def test_a_comment_yields_at_most_ten_commands_and_lines_are_cut() -> None:
    found = find_commands("\n".join(f"/augment describe {n}" for n in range(5_000)))
    assert [line.arguments for line in found] == [(str(n),) for n in range(MAX_COMMANDS_PER_COMMENT)]
    (long,) = find_commands("/augment describe " + "x" * 30_000)
    assert len(long.text) <= 201 and long.text.endswith("…")
    assert long.name == "describe"
