"""Storage-format tables → Markdown pipe tables, one line per row.

One row per line is what lets the budget cutter drop rows without ever splitting one.
Confluence rarely writes ``<thead>``: the header is a first row made only of ``<th>``
cells. A table without one gets an empty header row, because a pipe table needs a header
and promoting a data row would misstate what the first row is.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.documents.storage_tree import Element

# Separates a cell's paragraphs and list items; pipe-table cells cannot hold newlines.
CELL_BREAK = " <br> "


def render_table(table: Element, cell_text: Callable[[Element], str]) -> str:
    """``cell_text`` renders one ``td``/``th`` (its lines become ``<br>``-joined)."""
    rows = table_rows(table)
    if not rows:
        return ""
    cells = [_row_cells(row, cell_text) for row in rows]
    width = max(len(row) for row in cells)
    if width == 0:
        return ""
    if all(cell.tag == "th" for cell in rows[0]):
        header, body = cells[0], cells[1:]
    else:
        header, body = [""] * width, cells
    lines = [_line(header, width), "| " + " | ".join(["---"] * width) + " |"]
    lines.extend(_line(row, width) for row in body if any(row))
    return "\n".join(lines)


def table_rows(table: Element) -> list[list[Element]]:
    """The ``tr`` elements in document order, whether under thead/tbody/tfoot or not.

    Cells of a table nested in a cell belong to that cell, so the walk stops at tables.
    """
    rows: list[list[Element]] = []
    pending = list(reversed(table.elements()))
    while pending:
        element = pending.pop()
        if element.tag == "tr":
            rows.append([cell for cell in element.elements() if cell.tag in ("td", "th")])
        elif element.tag in ("thead", "tbody", "tfoot"):
            pending.extend(reversed(element.elements()))
    return [row for row in rows if row]


def _row_cells(row: list[Element], cell_text: Callable[[Element], str]) -> list[str]:
    cells: list[str] = []
    for cell in row:
        cells.append(_cell(cell, cell_text))
        # A spanning cell keeps later columns aligned with empty slots. (rowspan is not
        # reproduced: the cell shows once, in its first row.)
        cells.extend([""] * (_colspan(cell) - 1))
    return cells


def _cell(cell: Element, cell_text: Callable[[Element], str]) -> str:
    lines = [line.strip() for line in cell_text(cell).splitlines()]
    return CELL_BREAK.join(line for line in lines if line).replace("|", "\\|")


def _colspan(cell: Element) -> int:
    value = cell.attrs.get("colspan", "1")
    return min(int(value), 50) if value.isascii() and value.isdigit() and int(value) > 0 else 1


def _line(cells: list[str], width: int) -> str:
    padded = cells + [""] * (width - len(cells))
    return "| " + " | ".join(padded) + " |"
