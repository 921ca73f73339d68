"""Every job name the code can queue is one the worker registers, so no job is queued to nowhere."""

from __future__ import annotations

import importlib
import pkgutil

import fulfil
from fulfil.queue import JobName
from fulfil.worker import FUNCTIONS


def declared_job_names() -> set[str]:
    """The `JobName` constants of every module in the package (what `enqueue` can be given)."""
    names = set()
    for module_info in pkgutil.walk_packages(fulfil.__path__, "fulfil."):
        if module_info.name.endswith("__main__"):
            continue  # running it would start the command line
        module = importlib.import_module(module_info.name)
        names |= {value.name for value in vars(module).values() if isinstance(value, JobName)}
    return names


def test_every_queued_job_name_is_registered_in_the_worker() -> None:
    registered = [function.name for function in FUNCTIONS]
    assert len(registered) == len(set(registered)), "two jobs share a name"
    declared = declared_job_names()
    assert declared, "no JobName constant found"
    assert declared - set(registered) == set(), "queued by name but not registered"
    assert set(registered) - declared == set(), "registered without a JobName constant its callers queue it by"
