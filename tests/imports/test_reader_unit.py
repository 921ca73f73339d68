"""How the CSV reader reads a file, shown on small files: no server, no database.

The job calls it in three steps, as `read` below does: `check_file` (is it UTF-8 text?),
`read_header` (delimiter and columns), then `read_batches` from where the header ends. Each row
comes back as a record `(line, sku, name, description, active)` or as a reject
`(line, reason, fields)`; lines are physical lines from 1, the header being line 1.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fulfil.imports.reader import (
    RECORD_MAX_BYTES,
    Batch,
    HeaderProblem,
    ImportFailed,
    Record,
    check_file,
    read_batches,
    read_header,
)


@dataclass
class Read:
    """Everything `read_batches` gave for one file."""

    batches: list[Batch]
    records: list[Record] = field(default_factory=list)
    rejects: list[tuple[int, str, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for batch in self.batches:
            self.records += batch.records
            self.rejects += batch.rejects


def read(path: Path, content: bytes, batch_rows: int = 1000) -> Read:
    """Write `content` to `path` and read it as the import job does."""
    path.write_bytes(content)
    has_nul = check_file(path)
    header = read_header(path)
    return read_from(path, header.end_byte, header.end_line, batch_rows, has_nul)


def read_from(path: Path, byte: int, line: int, batch_rows: int = 1000, has_nul: bool = False) -> Read:
    """Read the rows after byte `byte`, the end of physical line `line`: where a resumed job starts."""
    stop = threading.Event()  # set by a job being cancelled: the reader stops after the current batch
    batches = read_batches(
        path, read_header(path), start_byte=byte, start_line=line, batch_rows=batch_rows, has_nul=has_nul, stop=stop
    )
    return Read(list(batches))


def failure(path: Path, content: bytes) -> str:
    """The message of the ImportFailed that reading `content` ends in."""
    with pytest.raises(ImportFailed) as raised:
        read(path, content)
    return str(raised.value)


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    return tmp_path / "products.csv"


def test_rows_become_records_with_their_line_numbers(csv_path: Path) -> None:
    got = read(csv_path, b"sku,name,description\nA-1,Alpha,First\nB-2,Beta,\n")
    assert got.records == [(2, "A-1", "Alpha", "First", None), (3, "B-2", "Beta", None, None)]
    assert got.rejects == []


def test_a_utf8_bom_before_the_header_is_skipped(csv_path: Path) -> None:
    got = read(csv_path, b"\xef\xbb\xbfsku,name\nA-1,Alpha\n")
    assert got.records == [(2, "A-1", "Alpha", None, None)]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_any_line_ending_reads_the_same(csv_path: Path, newline: str) -> None:
    text = newline.join(["sku,name", "A-1,Alpha", "B-2,Beta"]) + newline
    got = read(csv_path, text.encode())
    assert got.records == [(2, "A-1", "Alpha", None, None), (3, "B-2", "Beta", None, None)]


def test_a_quoted_field_may_hold_line_breaks_and_the_next_row_keeps_its_physical_line(csv_path: Path) -> None:
    content = b'sku,name,description\nA-1,Alpha,"two\nlines, and ""quotes"""\nB-2,Beta,plain\n'
    got = read(csv_path, content)
    assert got.records == [(2, "A-1", "Alpha", 'two\nlines, and "quotes"', None), (4, "B-2", "Beta", "plain", None)]


def test_header_names_match_whatever_their_case_spacing_and_order(csv_path: Path) -> None:
    got = read(csv_path, b" Name ,colour,S K U,ACTIVE\nAlpha,red,A-1,yes\n")
    assert got.records == [(2, "A-1", "Alpha", None, True)]


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_the_delimiter_is_the_one_the_header_holds_most(csv_path: Path, delimiter: str) -> None:
    lines = [delimiter.join(["sku", "name", "description"]), delimiter.join(["A-1", "Alpha", "x, y"])]
    got = read(csv_path, ("\n".join(lines) + "\n").encode())
    assert got.records == [(2, "A-1", "Alpha", "x, y", None)]


def test_a_blank_active_cell_means_not_given(csv_path: Path) -> None:
    got = read(csv_path, b"sku,name,active\nA-1,Alpha,\nB-2,Beta,off\n")
    assert [record[4] for record in got.records] == [None, False]


def test_blank_lines_are_skipped_without_shifting_line_numbers(csv_path: Path) -> None:
    got = read(csv_path, b"sku,name\nA-1,Alpha\n\nB-2,Beta\n")
    assert [record[0] for record in got.records] == [2, 4]


def test_bad_rows_are_rejected_with_their_line_and_reason_and_the_others_go_in(csv_path: Path) -> None:
    content = (
        b"sku,name,active\n"
        b",Blank sku,\n"  # 2
        b"A-1,Alpha,maybe\n"  # 3
        b"B-2\n"  # 4
        b"C-3,Gamma,,surplus\n"  # 5
        b"D-4,Delta,,\n"  # 6: empty surplus fields are fine
        b"E-5,\x00,\n"  # 7
    )
    got = read(csv_path, content)
    assert got.records == [(6, "D-4", "Delta", None, None)]
    reasons = {line: reason for line, reason, _ in got.rejects}
    assert "sku" in reasons[2]
    assert "active must be true or false" in reasons[3]
    assert reasons[4] == "the row has 1 field; the header has 3"
    assert reasons[5].startswith("the row has 4 fields; the header has 3")
    assert reasons[7] == "field 2 (name) contains a NUL byte"
    assert got.rejects[1][2] == ["A-1", "Alpha", "maybe"], "a reject keeps its original fields"


def test_rows_come_in_batches_each_ending_where_the_next_can_resume(csv_path: Path) -> None:
    content = b"sku,name\n" + b"".join(f"S-{n},Name {n}\n".encode() for n in range(5))
    got = read(csv_path, content, batch_rows=2)
    assert [len(batch.records) for batch in got.batches] == [2, 2, 1]
    assert [batch.last for batch in got.batches] == [False, False, True]

    first = got.batches[0]
    resumed = read_from(csv_path, first.end_byte, first.end_line)
    assert [record[:2] for record in resumed.records] == [(4, "S-2"), (5, "S-3"), (6, "S-4")]


def test_a_file_without_sku_or_name_fails_naming_what_it_found(csv_path: Path) -> None:
    message = failure(csv_path, b"code,title\nA-1,Alpha\n")
    assert message.startswith("The header (line 1) has no sku or name column (found: code, title)")


def test_an_empty_file_fails(csv_path: Path) -> None:
    assert failure(csv_path, b"").startswith("The file is empty")


def test_a_file_not_in_utf8_fails_naming_the_line_and_byte(csv_path: Path) -> None:
    message = failure(csv_path, "sku,name\nA-1,Alpha\nB-2,Caf\u00e9\n".encode("latin-1"))
    assert message.startswith("Line 3 is not valid UTF-8 (byte 0xE9)")


def test_a_binary_file_fails_saying_what_it_looks_like(csv_path: Path) -> None:
    message = failure(csv_path, b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert "it looks like a PNG image" in message


def test_an_unterminated_quote_fails_naming_the_line_it_opens_on(csv_path: Path) -> None:
    message = failure(csv_path, b'sku,name\nA-1,Alpha\nB-2,"never closed\nC-3,Gamma\n')
    assert message.startswith("Line 3: a quoted field starts on this line and its closing quote is missing")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_row_over_the_record_limit_on_one_line_is_rejected_alone(csv_path: Path, newline: str) -> None:
    long_row = 'B-2,"' + "x" * RECORD_MAX_BYTES + '"'
    content = newline.join(["sku,name", "A-1,Alpha", long_row, "C-3,Gamma", ""]).encode()
    got = read(csv_path, content)
    assert [record[:2] for record in got.records] == [(2, "A-1"), (4, "C-3")]
    assert [(line, reason.split(";")[0]) for line, reason, _ in got.rejects] == [
        (3, f"the row is {len(long_row) + len(newline):,} bytes long")
    ]


def test_a_header_lacking_columns_fails_with_them_and_the_first_rows(csv_path: Path) -> None:
    csv_path.write_bytes(b"Item,Title\nA-1,Alpha\nB-2,Beta\n")
    with pytest.raises(HeaderProblem) as raised:
        read_header(csv_path)
    assert (raised.value.columns, raised.value.sample) == (["Item", "Title"], [["A-1", "Alpha"], ["B-2", "Beta"]])
    header = read_header(csv_path, {"sku": "item", "name": " TITLE "})
    assert (header.sku, header.name, header.description) == (0, 1, None)
