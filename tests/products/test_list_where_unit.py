"""How `GET /api/products`'s filters become SQL, shown on the builder alone: no server, no database.

`list_where` turns the query's filters into a WHERE clause of fixed fragments joined by AND, and
the user's text into parameters only; `list_queries` adds the order and page, and a count that
stops early (sooner when a text filter makes each row dearer to check).
"""

from __future__ import annotations

from fulfil.products.queries import COUNT_CAP, SEARCH_COUNT_CAP, contains_pattern, list_queries, list_where
from fulfil.products.schemas import ProductQuery


def query(**params: object) -> ProductQuery:
    """The parameters as `GET /api/products?...` would parse them."""
    return ProductQuery.model_validate(params)


def test_no_filter_means_no_where_clause() -> None:
    assert list_where(query()) == ("", {})


def test_a_text_filter_is_a_case_insensitive_contains_match() -> None:
    assert list_where(query(name="kettle")) == ("WHERE name ILIKE :name", {"name": "%kettle%"})


def test_q_searches_sku_and_name_at_once() -> None:
    where, params = list_where(query(q="oak"))
    assert where == "WHERE (sku ILIKE :q OR name ILIKE :q)"
    assert params == {"q": "%oak%"}


def test_filters_combine_with_and() -> None:
    where, params = list_where(query(sku="SKU-1", description="steel", active=False))
    description = 'lower(description COLLATE "C") LIKE lower(:description COLLATE "C")'
    assert where == f"WHERE sku ILIKE :sku AND {description} AND active = :active"
    assert params == {"sku": "%SKU-1%", "description": "%steel%", "active": False}


def test_an_ascii_description_term_folds_only_ascii_case() -> None:
    """The faster byte-wise folding for an ASCII term; any other term folds as the locale does."""
    assert "COLLATE" in list_where(query(description="Model 42"))[0]
    assert list_where(query(description="crème"))[0] == "WHERE lower(description) LIKE lower(:description)"


def test_without_trigram_indexes_every_text_filter_reads_with_the_cheaper_test() -> None:
    where, params = list_where(query(name="crème", q="Oak"), indexed=False)
    ascii_q = (
        '(lower(sku COLLATE "C") LIKE lower(:q COLLATE "C") OR lower(name COLLATE "C") LIKE lower(:q COLLATE "C"))'
    )
    assert where == f"WHERE lower(name) LIKE lower(:name) AND {ascii_q}"
    assert params == {"name": "%crème%", "q": "%Oak%"}


def test_a_blank_active_means_both() -> None:
    assert list_where(query(active=" ")) == ("", {})


def test_user_text_never_reaches_the_sql_only_the_parameters() -> None:
    hostile = "'; DROP TABLE product; --"
    where, params = list_where(query(name=hostile))
    assert hostile not in where
    assert params["name"] == f"%{hostile}%"


def test_like_wildcards_in_a_term_match_themselves() -> None:
    assert contains_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_the_count_stops_sooner_with_a_text_filter() -> None:
    assert list_queries(query()).cap == COUNT_CAP
    assert list_queries(query(active=True)).cap == COUNT_CAP, "active is not a text filter"
    searched = list_queries(query(q="oak"))
    assert searched.cap == SEARCH_COUNT_CAP
    assert f"LIMIT {SEARCH_COUNT_CAP + 1}" in searched.count


def test_a_text_filter_reads_its_matches_once_then_pages_among_them() -> None:
    searched = list_queries(query(description="rare phrase", sort="name"))
    assert searched.matching is not None and searched.page_within is not None
    assert f"LIMIT {SEARCH_COUNT_CAP + 1}" in searched.matching
    assert 'LIKE lower(:description COLLATE "C") AND id = ANY(:matched_ids)' in searched.page_within
    plain = list_queries(query(active=True))
    assert (plain.matching, plain.page_within) == (None, None), "no text filter: count as usual"


def test_every_statement_shares_the_where_clause_and_its_parameters() -> None:
    sql = list_queries(query(name="kettle"))
    assert all("WHERE name ILIKE :name" in statement for statement in (sql.page, sql.count, sql.estimate))
    assert sql.params == {"name": "%kettle%"}


def test_a_cursor_page_starts_past_the_position_with_a_row_comparison() -> None:
    forward = list_queries(query(sort="-name"), ["blue", 7])
    assert "(product_name_key(name), id) < (:c0, :c1)" in forward.page
    assert "OFFSET" not in forward.page and forward.page_params["c1"] == 7
    backward = list_queries(query(sort="-name"), ["blue", 7], reverse=True)
    assert "(product_name_key(name), id) > (:c0, :c1)" in backward.page
    assert "ORDER BY product_name_key(name), id\n" in backward.page


def test_text_sorts_ignore_case_and_break_ties_by_id() -> None:
    assert "ORDER BY product_name_key(name) DESC, id DESC" in list_queries(query(sort="-name")).page
    assert "ORDER BY lower(sku)\n" in list_queries(query(sort="sku")).page, "sku is unique: no tie-breaker"
