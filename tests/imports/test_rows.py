"""What the reader makes of real-world files: encodings, delimiters, line endings, bad rows, last row wins."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx

from fulfil.imports.reader import FIELD_MAX_CHARS, RECORD_MAX_BYTES
from tests.support.imports import BATCH_ROWS, csv_bytes, import_file


async def rejects_of(client: httpx.AsyncClient, job_id: str) -> list[list[str]]:
    response = await client.get(f"/api/upload/{job_id}/rejects")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


async def products(db: asyncpg.Connection) -> dict[str, tuple[str, str | None]]:
    rows = await db.fetch("SELECT sku, name, description FROM product")
    return {r["sku"]: (r["name"], r["description"]) for r in rows}


async def test_bom_crlf_semicolons_and_loose_header_names(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    content = '\ufeff Name ;SKU;Description;Price\r\nÉcharpe;SC-1;"laine; douce";12\r\nBonnet;SC-2;;8\r\n'
    snapshot = await import_file(client, content.encode())
    assert (snapshot["status"], snapshot["created"]) == ("completed", 2)
    assert await products(db) == {"SC-1": ("Écharpe", "laine; douce"), "SC-2": ("Bonnet", None)}


async def test_tab_delimiter_and_old_mac_line_endings(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    tabbed = await import_file(client, b"sku\tname\tdescription\nT-1\tTab one\ta, b\nT-2\tTab two\t\n")
    assert (tabbed["status"], tabbed["created"]) == ("completed", 2)
    mac = await import_file(client, b"sku,name\rM-1,Mac one\rM-2,Mac two")
    assert (mac["status"], mac["created"]) == ("completed", 2)
    assert (await products(db))["T-1"] == ("Tab one", "a, b")
    assert (await products(db))["M-2"] == ("Mac two", None)


async def test_each_bad_row_is_rejected_with_its_physical_line_and_reason(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    long_field = "x" * (FIELD_MAX_CHARS + 1)
    lines = [
        "sku,name,description,notes",  # 1
        'OK-1,Fine,"a description',  # 2: a quoted field over three physical lines
        "over two more",  # 3
        'lines",n',  # 4
        ",No sku,d,n",  # 5
        "NO-NAME,  ,d,n",  # 6
        "FEW,Too few",  # 7
        "NUL-1,Nul\x00name,d,n",  # 8
        f"LONG-1,Long,d,{long_field}",  # 9
        f"{'S' * 101},Long sku,d,n",  # 10
        f"LONG-NAME,{'N' * 256},d,n",  # 11
        "",  # 12: blank lines are skipped, not rejected
        'OK-2,"Fine, too","multi',  # 13
        'line",n',  # 14
        '"BAD"QUOTE,x,d,n',  # 15
        "OK-3,Last,d,n",  # 16
    ]
    snapshot = await import_file(client, ("\n".join(lines) + "\n").encode())
    assert snapshot["status"] == "completed_with_errors"
    assert (snapshot["created"], snapshot["rejected"], snapshot["rows_done"]) == (3, 8, 11)
    stored = await products(db)
    assert stored["OK-1"] == ("Fine", "a description\nover two more\nlines")
    assert set(stored) == {"OK-1", "OK-2", "OK-3"}

    report = await rejects_of(client, snapshot["job_id"])
    assert report[0] == ["line", "reason", "sku", "name", "description", "notes"]
    by_line = {int(row[0]): row for row in report[1:]}
    assert sorted(by_line) == [5, 6, 7, 8, 9, 10, 11, 15]
    assert by_line[5][1] == "sku is required and cannot be blank"
    assert by_line[5][2:] == ["", "No sku", "d", "n"]
    assert by_line[6][1] == "name is required and cannot be blank"
    assert by_line[7][1] == "the row has 2 fields; the header has 4"
    assert by_line[7][2:] == ["FEW", "Too few"]
    assert by_line[8][1] == "field 2 (name) contains a NUL byte"
    limit = FIELD_MAX_CHARS
    assert by_line[9][1] == f"field 4 (notes) is {limit + 1:,} characters long; the limit is {limit:,}"
    assert by_line[10][1] == "sku is 101 characters long; the limit is 100"
    assert by_line[11][1] == "name is 256 characters long; the limit is 255"
    assert "not valid CSV" in by_line[15][1]


async def test_active_from_the_file_a_blank_cell_keeps_or_draws_it_and_an_unreadable_one_is_rejected(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await db.execute("INSERT INTO product (sku, name, active) VALUES ('A-5', 'Old', false), ('A-6', 'Old', true)")
    content = b"sku,name,active\nA-1,On,yes\nA-2,Off,0\nA-3,Odd,perhaps\nA-4,Blank,\nA-5,Kept, \nA-6,Off now,no\n"
    snapshot = await import_file(client, content)
    assert (snapshot["created"], snapshot["updated"], snapshot["rejected"]) == (3, 2, 1)
    rows = {r["sku"]: (r["name"], r["active"]) for r in await db.fetch("SELECT sku, name, active FROM product")}
    assert {sku: rows[sku] for sku in ("A-1", "A-2", "A-5", "A-6")} == {
        "A-1": ("On", True),
        "A-2": ("Off", False),
        "A-5": ("Kept", False),  # blank cell: the product keeps its value
        "A-6": ("Off now", False),
    }
    assert rows["A-4"][1] in (True, False)  # blank cell on a new product: a random value
    assert "A-3" not in rows
    reasons = {int(row[0]): row[1] for row in (await rejects_of(client, snapshot["job_id"]))[1:]}
    assert reasons == {4: "active must be true or false (also yes/no, 1/0); got 'perhaps'"}


async def test_without_an_active_column_new_products_get_random_and_existing_keep_theirs(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await db.execute("INSERT INTO product (sku, name, active) VALUES ('KEEP-1', 'Old', false), ('KEEP-2', 'Old', true)")
    rows = [["KEEP-1", "New name", ""], ["KEEP-2", "New name", ""]] + [[f"R-{i}", "r", ""] for i in range(200)]
    snapshot = await import_file(client, csv_bytes(rows))
    assert (snapshot["created"], snapshot["updated"]) == (200, 2)
    kept = {r["sku"]: (r["name"], r["active"]) for r in await db.fetch("SELECT * FROM product WHERE sku LIKE 'KEEP%'")}
    assert kept == {"KEEP-1": ("New name", False), "KEEP-2": ("New name", True)}
    spread = await db.fetch("SELECT active, count(*) FROM product WHERE sku LIKE 'R-%' GROUP BY active")
    assert {r["active"] for r in spread} == {True, False}, "new products get a random active value"


async def test_last_row_wins_case_insensitively_within_and_across_batches(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    rows = [[f"SKU-{i}", f"first {i}", "d"] for i in range(BATCH_ROWS * 3)]
    rows[5] = ["dup-in-batch", "early", "d"]
    rows[9] = ["DUP-IN-BATCH", "late", "d"]  # same batch: only the later row goes in
    rows[BATCH_ROWS * 2 + 7] = ["sku-3", "from a later batch", "new"]  # updates SKU-3, written two batches earlier
    snapshot = await import_file(client, csv_bytes(rows))
    assert snapshot["rows_done"] == BATCH_ROWS * 3
    # Both repeats are written (the last row wins); the rows they override count as duplicates in the file,
    # whether in the same batch or two batches earlier, and nothing counts twice.
    counts = ("created", "updated", "unchanged", "duplicates_in_file")
    assert [snapshot[name] for name in counts] == [BATCH_ROWS * 3 - 2, 0, 0, 2]
    stored = await db.fetch("SELECT sku, name, description FROM product WHERE lower(sku) IN ('sku-3', 'dup-in-batch')")
    assert {(r["sku"], r["name"], r["description"]) for r in stored} == {
        ("sku-3", "from a later batch", "new"),
        ("DUP-IN-BATCH", "late", "d"),
    }


async def test_same_file_again_rewrites_nothing(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    content = csv_bytes([[f"SAME-{i}", f"n {i}", "d"] for i in range(120)])
    await import_file(client, content)
    versions = "SELECT sku, updated_at, xmin FROM product"
    before = {r["sku"]: (r["updated_at"], r["xmin"]) for r in await db.fetch(versions)}
    again = await import_file(client, content)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 120)
    after = {r["sku"]: (r["updated_at"], r["xmin"]) for r in await db.fetch(versions)}
    assert after == before, "unchanged rows are not rewritten"

    changed = content.replace(b"SAME-7,n 7,d", b"same-7,n 7,d")
    third = await import_file(client, changed)
    assert (third["updated"], third["unchanged"]) == (1, 119)
    row = await db.fetchrow("SELECT sku, updated_at FROM product WHERE lower(sku) = 'same-7'")
    assert row["sku"] == "same-7", "the SKU's case from the file wins"
    assert row["updated_at"] > before["SAME-7"][0]


async def test_a_file_that_is_not_utf8_fails_naming_the_line_and_writes_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    rows = "".join(f"OK-{i},fine,d\n" for i in range(BATCH_ROWS * 2))
    content = ("sku,name,description\n" + rows).encode() + "BAD-1,Caf\u00e9,latin-1\n".encode("latin-1")
    snapshot = await import_file(client, content)
    assert snapshot["status"] == "failed"
    assert f"Line {BATCH_ROWS * 2 + 2} is not valid UTF-8" in snapshot["error"]
    assert "Save it as UTF-8" in snapshot["error"]
    assert await db.fetchval("SELECT count(*) FROM product") == 0


async def test_an_unterminated_quote_fails_naming_its_line(client: httpx.AsyncClient) -> None:
    content = b'sku,name,description\nQ-1,One,fine\nQ-2,Two,"never closed\nQ-3,Three,d\nQ-4,Four,d\n'
    snapshot = await import_file(client, content)
    assert snapshot["status"] == "failed"
    assert snapshot["error"].startswith("Line 3: a quoted field starts on this line and its closing quote is missing")


async def test_an_unclosed_quote_in_a_long_file_fails_at_its_line_without_reading_it_all(
    client: httpx.AsyncClient,
) -> None:
    filler = b"".join(b"F-%d,filler,d\n" % i for i in range(40_000))
    assert len(filler) > RECORD_MAX_BYTES
    snapshot = await import_file(client, b'sku,name,description\nQ-1,One,fine\nQ-2,Two,"never closed\n' + filler)
    assert snapshot["status"] == "failed"
    assert snapshot["error"].startswith(f"Line 3: the row is longer than {RECORD_MAX_BYTES:,} bytes")
    assert "closing quote is missing" in snapshot["error"]


async def test_a_missing_required_column_fails_before_any_write(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    snapshot = await import_file(client, b"name,description\nNo sku,d\n")
    assert snapshot["status"] == "failed"
    assert snapshot["error"].startswith("The header (line 1) has no sku column (found: name, description)")
    assert (snapshot["rows_done"], await db.fetchval("SELECT count(*) FROM product")) == (0, 0)
    semicolons_as_commas = await import_file(client, b"sku|name\nA|B\n")
    assert "no sku or name column" in semicolons_as_commas["error"]


async def test_a_header_only_file_completes_with_nothing_to_do(client: httpx.AsyncClient) -> None:
    snapshot = await import_file(client, b"sku,name\n")
    assert (snapshot["status"], snapshot["rows_total"], snapshot["created"]) == ("completed", 0, 0)


async def test_a_row_over_the_limit_on_one_line_is_rejected_alone_and_the_rest_imports(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    huge = "d" * (1 << 20)  # a 1 MB description on one physical line, its quotes closed
    content = f'sku,name,description\nH-1,One,fine\nH-2,Two,"{huge}"\nH-3,Three,d\nH-4,"Four, quoted",x\n'.encode()
    snapshot = await import_file(client, content)
    assert snapshot["status"] == "completed_with_errors"
    assert (snapshot["created"], snapshot["rejected"], snapshot["rows_done"]) == (3, 1, 4)
    report = list(csv.reader(io.StringIO((await client.get(f"/api/upload/{snapshot['job_id']}/rejects")).text)))
    assert report[1][:2] == ["3", f"the row is {len(huge) + 11:,} bytes long; the limit is {RECORD_MAX_BYTES:,}"]
    assert sorted(await products(db)) == ["H-1", "H-3", "H-4"]


async def test_a_long_line_whose_quote_stays_open_still_fails_at_its_line(client: httpx.AsyncClient) -> None:
    content = b'sku,name,description\nQ-1,One,fine\nQ-2,Two,"' + b"d" * (1 << 20) + b"\nQ-3,Three,d\n"
    snapshot = await import_file(client, content)
    assert snapshot["status"] == "failed"
    assert snapshot["error"].startswith(f"Line 3: the row is longer than {RECORD_MAX_BYTES:,} bytes")
