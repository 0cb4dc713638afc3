"""Keep patient data out of the server's logs.

The app itself logs nothing about requests, but the server it runs on does, in two places:

- the access log (``immunomod serve --access-log``) writes each request line, and a query
  string can be a patient's regimen (``/assess?meds=…``, ``/v1/resolve?text=…``): it is logged
  as ``?…``, the path and status kept;
- an unexpected error is logged with its traceback, whose last line is the exception's message,
  and messages can quote the input (a pydantic ValidationError shows ``input_value=…``, a
  KeyError its key): the message is withheld, the exception's type and the frames kept, which
  is what a developer needs to find the fault.

:func:`install` adds both filters to uvicorn's loggers; :func:`~immunomod.interfaces.api.
create_app` calls it, so any ASGI server set up with uvicorn's loggers gets them.
"""

from __future__ import annotations

import logging
import traceback

WITHHELD = "(message withheld from the log: it may quote patient data)"


class QueryRedactor(logging.Filter):
    """uvicorn.access: ``GET /assess?meds=…`` is logged as ``GET /assess?…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path with query, HTTP version, status)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, sep, _query = args[2].partition("?")
            record.args = (args[0], args[1], path + ("?…" if sep else ""), args[3], args[4])
        return True


class ExceptionMessageRedactor(logging.Filter):
    """A logged exception keeps its type and traceback frames; its message is withheld."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            frames = "".join(traceback.format_tb(exc.__traceback__))
            kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
            record.exc_text = f"Traceback (most recent call last):\n{frames}{kind}: {WITHHELD}"
            record.exc_info = None  # the formatter prints exc_text instead
        return True


def install() -> None:
    """Add the filters to uvicorn's loggers (once, however often the app is created)."""
    for name, kind in (
        ("uvicorn.access", QueryRedactor),
        ("uvicorn.error", ExceptionMessageRedactor),
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())


__all__ = ["ExceptionMessageRedactor", "QueryRedactor", "install"]
