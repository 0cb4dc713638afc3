"""A time budget for the work of one request, seen by every function it calls.

The web layer sets :data:`DEADLINE` when a request starts (see
:mod:`immunomod.interfaces.security`); loops over many items (a batch of texts, the medications
of a regimen) call :func:`check_time` before each one. Past the deadline the request has
already been answered 503, so the work stops instead of running on in a worker thread. Outside
a request (CLI, library, batch jobs) there is no deadline and :func:`check_time` does nothing.

    >>> check_time()   # no deadline set: nothing happens
"""

from __future__ import annotations

import contextvars
import time

#: When the current request's time budget runs out (time.monotonic()); None: no budget.
DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "immunomod_deadline", default=None
)


class OutOfTime(Exception):
    """Raised by :func:`check_time` when the budget is spent (the web layer answers 503)."""


def check_time() -> None:
    """Raise :class:`OutOfTime` when the current request has used up its time budget: never a
    partial answer, and no more work for an answer that is already a 503."""
    deadline = DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        raise OutOfTime


__all__ = ["DEADLINE", "OutOfTime", "check_time"]
