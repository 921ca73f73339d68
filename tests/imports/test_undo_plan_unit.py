"""The undo's decisions for one product, from the job's entries and the product as it is now."""

from __future__ import annotations

from fulfil.imports.undo_plan import plan_batch, touch_of

WAS = {"sku": "A-1", "name": "Was", "description": None, "active": True}


def test_a_product_the_job_touched_twice_goes_back_to_what_it_found() -> None:
    touch = touch_of(
        7,
        "a-1",
        [
            ("updated", {"name": "Was"}, {"name": "Mid"}),
            ("updated", {"sku": "A-1", "name": "Mid"}, {"sku": "a-1", "name": "Now"}),
        ],
    )
    assert touch.target == {"name": "Was", "sku": "A-1"} and touch.left == {"name": "Now", "sku": "a-1"}
    plan = plan_batch([touch], {7: WAS | {"sku": "a-1", "name": "Now"}}, force=False)
    assert plan.updates == [{"id": 7, **WAS}]
    assert plan.history == [(7, "A-1", "updated", {"sku": "a-1", "name": "Now"}, {"sku": "A-1", "name": "Was"})]


def test_created_then_updated_within_the_job_is_deleted() -> None:
    touch = touch_of(3, "n", [("created", None, WAS), ("updated", {"name": "Was"}, {"name": "Later"})])
    assert touch.target is None and touch.left == WAS | {"name": "Later"}
    plan = plan_batch([touch], {3: WAS | {"name": "Later"}}, force=False)
    assert plan.deletes == [3] and plan.history[0][2] == "deleted"


def test_already_at_the_target_is_unchanged_and_a_change_elsewhere_no_conflict() -> None:
    updated = touch_of(1, "A-1", [("updated", {"name": "Was"}, {"name": "Now"})])
    created = touch_of(2, "B-1", [("created", None, WAS | {"sku": "B-1"})])
    plan = plan_batch([updated, created], {1: WAS | {"description": "edited"}}, force=False)
    assert plan.unchanged == 2 and not plan.conflicts


def test_conflicts_and_what_force_does_with_them() -> None:
    changed = touch_of(1, "A-1", [("updated", {"name": "Was"}, {"name": "Now"})])
    gone = touch_of(2, "B-1", [("updated", {"name": "Was"}, {"name": "Now"})])
    deleted = touch_of(3, "C-1", [("deleted", WAS | {"sku": "C-1"}, None)])
    current = {1: WAS | {"name": "Someone"}, 3: WAS | {"sku": "C-1", "name": "Back"}}
    plan = plan_batch([changed, gone, deleted], current, force=False)
    assert [(c[0], c[1], c[2]) for c in plan.conflicts] == [
        (1, "A-1", "changed since: name"),
        (2, "B-1", "deleted since"),
        (3, "C-1", "back since (the job had deleted it)"),
    ]
    forced = plan_batch([changed, gone, deleted], current, force=True)
    assert [row["id"] for row in forced.updates] == [1, 3]
    assert [c[2] for c in forced.conflicts] == ["deleted since; nothing to restore its earlier values onto"]


def test_a_reinsert_the_database_refuses_becomes_a_conflict() -> None:
    deleted = touch_of(5, "D-1", [("deleted", WAS | {"sku": "D-1"}, None)])
    plan = plan_batch([deleted], {}, force=False)
    assert plan.reinserts == [{"id": 5, **WAS, "sku": "D-1"}] and plan.restored == 1
    plan.not_reinserted(set())
    assert plan.reinserts == [] and plan.history == []
    assert plan.conflicts == [(5, "D-1", "its SKU is another product's now", None, None)]
