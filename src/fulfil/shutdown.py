"""The shutdown budget: after SIGTERM the process must be gone within 10 s; each step's share is here.

In order: uvicorn stops accepting and waits up to OPEN_REQUESTS_SECONDS for open requests (an SSE
stream is told to end and gets STREAM_END_SECONDS of it to say goodbye); then the job worker
stops taking jobs and gives the running ones JOB_DRAIN_SECONDS, but never past
JOB_DRAIN_DEADLINE_SECONDS after the signal; cancelling what still runs, closing connections
and exiting take the rest.
"""

from __future__ import annotations

import time

OPEN_REQUESTS_SECONDS = 3  # uvicorn's timeout_graceful_shutdown
STREAM_END_SECONDS = 1.0  # within OPEN_REQUESTS_SECONDS
JOB_DRAIN_SECONDS = 5.0  # also `fulfil worker`'s whole wait for running jobs
JOB_DRAIN_DEADLINE_SECONDS = 6.5  # counted from the signal, so uvicorn's wait is part of it


def job_drain_seconds(deadline: float | None) -> float:
    """How long running jobs may still take: JOB_DRAIN_SECONDS, or less if the `time.monotonic()`
    `deadline` set when the signal came is closer."""
    if deadline is None:
        return JOB_DRAIN_SECONDS
    return max(0.0, min(JOB_DRAIN_SECONDS, deadline - time.monotonic()))
