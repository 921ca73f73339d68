"""The rejects report: one CSV per job with each rejected row's line, the reason and its fields.

Rows are appended just before their batch commits; a job resuming after a crash first drops the
rows past its checkpoint, so a batch that never committed is not reported twice.
"""

from __future__ import annotations

import csv
from pathlib import Path

FIXED_COLUMNS = ["line", "reason"]


def rejects_path(uploads: Path, job_id: str) -> Path:
    return uploads / f"{job_id}.rejects.csv"


class RejectsFile:
    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self.columns = columns

    def append(self, rejects: list[tuple[int, str, list[str]]]) -> None:
        if not rejects:
            return
        new = not self.path.exists()
        with self.path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(FIXED_COLUMNS + [c.strip() for c in self.columns])
            writer.writerows([line, reason, *fields] for line, reason, fields in rejects)

    def trim(self, last_line: int) -> None:
        """Keep only the rows of committed batches (line <= `last_line`)."""
        if not self.path.exists():
            return
        with self.path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        kept = [rows[0], *(row for row in rows[1:] if int(row[0]) <= last_line)] if rows else []
        with self.path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(kept)
