"""Streaming interfaces: one JSON object out per line in, in order, whatever the line holds."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import BinaryIO, TextIO

from immunomod.names import resolve
from immunomod.names.models import Resolution

_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _one_line(text: str) -> str:
    """JSON escapes \\n but not NEL or the Unicode line separators, which some readers split on."""
    for raw, escaped in _LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    return text


def resolve_jsonl(inp: BinaryIO, out: TextIO, progress: Callable[[int], None] | None = None) -> int:
    """Resolve each line of ``inp``; write one JSON line per input line; return lines read.

    A bad line (invalid UTF-8, empty, too long, control characters) gets an ``error`` on its
    own output line and the stream goes on: nothing is dropped or merged. ``progress`` hears
    the running line count every 200 lines.
    """
    n = 0
    for raw in inp:
        n += 1
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            res = Resolution(
                input=line.decode("utf-8", errors="replace"),
                error=f"line {n} is not valid UTF-8 (byte {exc.start}): re-encode it as UTF-8",
            )
        else:
            res = resolve(text)
        out.write(_one_line(json.dumps(res.as_json(), ensure_ascii=False)) + "\n")
        if progress is not None and n % 200 == 0:
            progress(n)
    out.flush()
    return n
