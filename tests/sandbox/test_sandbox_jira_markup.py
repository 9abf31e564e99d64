"""Wiki markup ↔ ADF conversion used for REST v3 bodies."""

from __future__ import annotations

from sandbox.jira.markup import adf_to_wiki, wiki_to_adf, wiki_to_text

WIKI = """h2. Acceptance criteria
Given *an owner* when they export then a _ZIP_ arrives with {{csv}} files.
See [the RFC|https://example.com/rfc].

* first
** nested
* second

# one
# two

{code:python}
print("hi")
{code}

||Step||Expected||
|Export|ZIP|
----"""


def test_wiki_becomes_structured_adf() -> None:
    document = wiki_to_adf(WIKI)
    assert document is not None
    kinds = [node["type"] for node in document["content"]]
    assert kinds == ["heading", "paragraph", "bulletList", "orderedList", "codeBlock", "table", "rule"]
    paragraph = document["content"][1]["content"]
    assert {"type": "text", "text": "an owner", "marks": [{"type": "strong"}]} in paragraph
    assert {"type": "hardBreak"} in paragraph
    link = next(node for node in paragraph if node.get("marks", [{}])[0].get("type") == "link")
    assert link["marks"][0]["attrs"]["href"] == "https://example.com/rfc"
    nested = document["content"][2]["content"][0]["content"][1]
    assert nested["type"] == "bulletList"
    assert document["content"][4]["attrs"] == {"language": "python"}
    assert document["content"][5]["content"][0]["content"][0]["type"] == "tableHeader"


def test_round_trip_keeps_the_markup() -> None:
    document = wiki_to_adf(WIKI)
    assert document is not None
    again = adf_to_wiki(document)
    assert wiki_to_adf(again) == document
    assert "** nested" in again and "# two" in again and "{code:python}" in again and "||Step||Expected||" in again


def test_plain_text_drops_markup() -> None:
    text = wiki_to_text("h3. Title\n*bold* and {{code}} and [link|https://x.y]")
    assert text == "Title\nbold and code and link"
    assert wiki_to_text(None) == ""


def test_unknown_adf_nodes_keep_their_text() -> None:
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "panel", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Note"}]}]},
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "abc", "text": "@Sam"}},
                    {"type": "text", "text": " please"},
                ],
            },
        ],
    }
    assert adf_to_wiki(document) == "Note\n\n[~accountid:abc] please"
