"""What undoing a job does to each product it touched, decided from the job's history entries and
the product as it is now. Pure: the undo's batch (undo_run.py) reads and writes, this decides.

For each product the job's entries (oldest first) give the state it found (`target`: absent, the
whole product, or the earlier values of the fields it changed) and the state it left (`left`).
Now the product is either already at the target (nothing to do: an earlier undo got there, or it
was changed back), still as the job left it (restore it), or changed since (a conflict: left
alone, unless forced). Only the fields the job changed are compared and restored: a later change
to another field is kept and is no conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fulfil.products.fields import FIELDS

Values = dict[str, Any]
Action = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class Touch:
    """One job's effect on one product: `target` and `left` are None where it was absent."""

    product_id: int
    sku: str  # as the job's last entry for it has it
    target: Values | None
    target_whole: bool  # the target is a whole product (the job deleted it), not some fields
    left: Values | None


def touch_of(product_id: int, sku: str, entries: Iterable[tuple[Action, Values | None, Values | None]]) -> Touch:
    """The job's entries for one product, oldest first, as a `Touch` (`sku`: the last entry's)."""
    items = list(entries)
    first = items[0][0]
    target: Values | None = None
    if first != "created":
        target = {}
        for _, before, _ in items:  # the earliest value of each field wins
            for name, value in (before or {}).items():
                target.setdefault(name, value)
    left: Values | None = None
    if items[-1][0] != "deleted":
        left = {}
        for _, _, after in items:  # the latest value of each field wins
            left.update(after or {})
    return Touch(product_id, sku, target, first == "deleted", left)


def _matches(current: Values | None, values: Values | None) -> bool:
    if values is None or current is None:
        return values is None and current is None
    return all(current[name] == value for name, value in values.items())


@dataclass
class BatchPlan:
    """The writes of one batch and the entries and conflicts to record with them."""

    deletes: list[int] = field(default_factory=list)
    updates: list[Values] = field(default_factory=list)  # whole new rows, with `id`
    reinserts: list[Values] = field(default_factory=list)  # whole rows, with `id`
    history: list[tuple[int, str, Action, Values | None, Values | None]] = field(default_factory=list)
    conflicts: list[tuple[int, str, str, Values | None, Values | None]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def restored(self) -> int:
        return len(self.updates) + len(self.reinserts)

    def not_reinserted(self, inserted: set[int]) -> None:
        """The re-inserts the database refused (their SKU is another product's now) become conflicts."""
        refused = {row["id"] for row in self.reinserts} - inserted
        if not refused:
            return
        for row in self.reinserts:
            if row["id"] in refused:
                self.conflicts.append((row["id"], row["sku"], "its SKU is another product's now", None, None))
        self.reinserts = [row for row in self.reinserts if row["id"] not in refused]
        self.history = [entry for entry in self.history if entry[0] not in refused]

    def conflict(self, touch: Touch, current: Values | None, reason: str) -> None:
        sku = current["sku"] if current else touch.sku
        self.conflicts.append((touch.product_id, sku, reason, touch.left, current))


def _reason(touch: Touch, current: Values | None) -> str:
    if current is None:
        return "deleted since"
    if touch.left is None:
        return "back since (the job had deleted it)"
    differ = [name for name in FIELDS if name in touch.left and current[name] != touch.left[name]]
    return "changed since: " + ", ".join(differ)


def plan_batch(touches: Iterable[Touch], current: Mapping[int, Values], *, force: bool) -> BatchPlan:
    """Decide each product's fate; `current` maps the ids that exist now to their values."""
    plan = BatchPlan()
    for touch in touches:
        now = current.get(touch.product_id)
        if _matches(now, touch.target):
            plan.unchanged += 1
            continue
        if not (force or _matches(now, touch.left)):
            plan.conflict(touch, now, _reason(touch, now))
            continue
        if touch.target is None:
            assert now is not None  # not at the target, so it exists
            plan.deletes.append(touch.product_id)
            plan.history.append((touch.product_id, now["sku"], "deleted", now, None))
        elif now is None:
            if not touch.target_whole:
                plan.conflict(touch, now, "deleted since; nothing to restore its earlier values onto")
                continue
            plan.reinserts.append({"id": touch.product_id, **touch.target})
            plan.history.append((touch.product_id, touch.target["sku"], "created", None, touch.target))
        else:
            new = now | touch.target
            changed = [name for name in FIELDS if new[name] != now[name]]
            plan.updates.append({"id": touch.product_id, **new})
            before, after = {n: now[n] for n in changed}, {n: new[n] for n in changed}
            plan.history.append((touch.product_id, new["sku"], "updated", before, after))
    return plan
