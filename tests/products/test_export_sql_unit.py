"""The export's SELECT is the list's: its filter and sort fragments, with asyncpg's `$n` parameters."""

from __future__ import annotations

from fulfil.products.export import ExportQuery, export_select


def test_filters_selection_and_sort_become_the_lists_fragments_and_parameters() -> None:
    query = ExportQuery.model_validate(
        {"q": "50%", "active": "false", "ids": "3,1,9999999999999999999", "sort": "-name"}
    )
    sql, args = export_select(query, spreadsheet=False)
    assert sql == (
        "SELECT sku, name, description, active::text AS active FROM product "
        "WHERE (sku ILIKE $1 OR name ILIKE $1) AND active = $2 AND id = ANY($3) "
        "ORDER BY product_name_key(name) DESC, id DESC"
    )
    assert args == ["%50\\%%", False, [3, 1]]


def test_ids_past_a_bigint_are_dropped_and_spreadsheet_cells_are_guarded_in_sql() -> None:
    query = ExportQuery.model_validate(
        {"ids": f"{2**63 - 1},{2**63}", "columns": "name,created_at", "for": "spreadsheet"}
    )
    sql, args = export_select(query, spreadsheet=True)
    assert args == [[2**63 - 1]]
    assert "CASE WHEN left(name, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || name ELSE name END" in sql
    assert "to_char(created_at AT TIME ZONE 'UTC'" in sql
    assert sql.endswith("ORDER BY id")
