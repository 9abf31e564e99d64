"""The PRD story table parser on storage format as PRDs are really written."""

from __future__ import annotations

from importlib import resources

import pytest

from bot.documents.prd_stories import (
    MAX_ROWS,
    SUMMARY_LIMIT,
    StoryTableError,
    find_story_table,
    normalise_title,
)


def table(rows: str, heading: str = "<h2>Story Ticket List</h2>") -> str:
    return f"{heading}<table><tbody>{rows}</tbody></table>"


TH_HEADER = "<tr><th>Title</th><th>Description</th><th>Acceptance Criteria</th></tr>"


def test_the_demo_prd_table_in_an_expand_macro_in_a_layout() -> None:
    storage = (resources.files("sandbox") / "data" / "prd-data-export.xml").read_text(encoding="utf-8")
    found = find_story_table(storage)
    assert found.heading == "\U0001f4cb Story Ticket List"
    assert [story.title for story in found.stories] == [
        "Export account data as CSV",
        "Choose the data sets to export",
        "Cancel a running export",
        "Download an export archive",
        "Show export progress",
    ]
    first = found.stories[0]
    assert first.acceptance_criteria == (
        "Given I am a workspace owner when I request a CSV export then I receive a ZIP with one CSV file per data set.",
        "Files are UTF-8 encoded with a header row.",
        "Dates use ISO 8601.",
    )
    assert found.stories[1].acceptance_criteria[0] == "Projects, members & audit events can be picked one by one."
    download = found.stories[3]
    assert download.description == "Download an export archive"  # an empty description defaults to the title
    assert download.acceptance_criteria == (
        "The archive downloads over HTTPS",
        "The link works for 7 days",
        "A second download counts in the history",
    )
    assert all("Nice to have" not in story.description for story in found.stories)  # the Notes column is ignored
    assert found.warnings == []


@pytest.mark.parametrize(
    "heading",
    [
        "<h1>Story Tickets</h1>",
        "<h3>story list</h3>",
        "<h2>4. User Stories</h2>",
        "<h2>\U0001f680 Stories!</h2>",
        '<h2><ac:emoticon ac:name="blue-star" ac:emoji-fallback="x" /> STORY TICKET LIST:</h2>',
        "<h4>Story&nbsp;Table</h4>",
    ],
)
def test_headings_are_matched_without_case_emoji_punctuation_or_numbers(heading: str) -> None:
    found = find_story_table(table(TH_HEADER + "<tr><td>Export</td><td>d</td><td>c</td></tr>", heading))
    assert [story.title for story in found.stories] == ["Export"]


def test_bold_first_row_columns_in_any_case_and_order_with_extra_columns() -> None:
    rows = (
        "<tr><td><p><strong>Notes</strong></p></td><td><strong>AC</strong></td>"
        "<td><b>SUMMARY</b></td><td><strong>Details</strong></td></tr>"
        "<tr><td>ignored</td><td><ol><li>one</li><li>two</li></ol></td><td>Import &amp; merge</td>"
        "<td><p>Line one</p><p>Line two</p></td></tr>"
    )
    story = find_story_table(table(rows)).stories[0]
    assert story.title == "Import & merge"
    assert story.description == "Line one\nLine two"
    assert story.acceptance_criteria == ("one", "two")


def test_blank_rows_are_skipped_and_a_row_without_a_title_is_a_warning() -> None:
    rows = (
        TH_HEADER + "<tr><td><p>&nbsp;</p></td><td /><td><p><br /></p></td></tr>"
        "<tr><td></td><td>orphan description</td><td>c</td></tr>"
        "<tr><td>Kept</td><td></td><td>plain text criterion, one item</td></tr>"
    )
    found = find_story_table(table(rows))
    assert [(story.title, story.description) for story in found.stories] == [("Kept", "Kept")]
    assert found.stories[0].acceptance_criteria == ("plain text criterion, one item",)
    assert found.warnings == ["Row 1 of the story table has no title; it was skipped"]


def test_a_given_when_then_scenario_over_several_lines_is_one_criterion() -> None:
    cell = (
        "<p><strong>Given</strong> a signed-in owner</p><p>When they open Exports</p>"
        "<p>Then the last export is listed<br />And its size is shown</p>"
        "<ul><li>Exports older than 30 days are hidden.</li></ul>"
        "<p>Given no export when they open Exports then an empty state is shown.</p>"
    )
    story = find_story_table(table(TH_HEADER + f"<tr><td>List exports</td><td>d</td><td>{cell}</td></tr>")).stories[0]
    assert story.acceptance_criteria == (
        "Given a signed-in owner when they open Exports then the last export is listed and its size is shown",
        "Exports older than 30 days are hidden.",
        "Given no export when they open Exports then an empty state is shown.",
    )


def test_missing_columns_title_only() -> None:
    story = find_story_table(table("<tr><th>Name</th></tr><tr><td>Only a name</td></tr>")).stories[0]
    assert (story.title, story.description, story.acceptance_criteria) == ("Only a name", "Only a name", ())


def test_bounds_rows_and_title_length() -> None:
    long_title = "x" * 400
    rows = "<tr><th>Title</th></tr>" + f"<tr><td>{long_title}</td></tr>" * (MAX_ROWS + 5)
    found = find_story_table(table(rows))
    assert len(found.stories) == MAX_ROWS
    assert len(found.stories[0].title) == SUMMARY_LIMIT
    assert f"only the first {MAX_ROWS} are read" in found.warnings[0]


def test_a_table_before_the_heading_and_tables_nested_in_cells_are_not_the_story_table() -> None:
    storage = "<h2>Glossary</h2><table><tr><th>Title</th></tr><tr><td>Not a story</td></tr></table>" + table(
        "<tr><th>Title</th><th>Description</th></tr>"
        "<tr><td>Real</td><td><table><tr><td>Title</td></tr></table></td></tr>"
    )
    assert [story.title for story in find_story_table(storage).stories] == ["Real"]


def test_no_story_heading_names_the_headings_looked_for_and_found() -> None:
    with pytest.raises(StoryTableError) as raised:
        find_story_table("<h2>Overview</h2><p>text</p><h2>Rollout</h2>")
    message = str(raised.value)
    assert '"Story Ticket List", "Story Tickets", "Story List", "User Stories", "Stories"' in message
    assert '"Overview", "Rollout"' in message


def test_a_story_heading_without_a_table_or_without_a_title_column() -> None:
    with pytest.raises(StoryTableError, match='the heading "Stories" has no table under it'):
        find_story_table("<h2>Stories</h2><p>TBD</p><h2>Next</h2><table><tr><td>x</td></tr></table>")
    with pytest.raises(StoryTableError, match=r'no Title, Summary, Name or Story column \(its columns: "Owner"\)'):
        find_story_table(table("<tr><th>Owner</th></tr><tr><td>me</td></tr>"))


def test_normalised_titles() -> None:
    assert normalise_title("  Export  account data as CSV. ") == normalise_title("export account DATA as csv")
    assert normalise_title("Export") != normalise_title("Exports")
