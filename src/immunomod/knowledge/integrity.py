"""The compiled knowledge base's file checksum: written by the compiler, checked on first open.

``kb build`` writes ``<db>.sha256`` beside the database, in ``sha256sum`` format (so
``sha256sum -c kb.sqlite.sha256`` checks it by hand too). :meth:`Store.open
<immunomod.knowledge.store.Store.open>` hashes the file's bytes and compares.

Why the file's bytes and not the ``content_hash`` stored inside it: that hash is over the
canonical JSON of every record, and recomputing it means reading and re-serialising the whole
base (hundreds of milliseconds), while SHA-256 of the 10 MB file takes ~8 ms, so the CLI's
cold start stays fast. A flipped byte, a truncated copy, a row edited with ``sqlite3`` or a
different file put in its place all change the file's digest.

What it guards against: corruption (a bad disk, a partial copy or download, a botched merge of
the binary) and edits made to the database without rebuilding it. It is not a signature: whoever
can rewrite both files in the installed package can also rewrite the code that checks them.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from immunomod.errors import KnowledgeBaseIntegrityError

_FIX = "Reinstall immunomod, or rebuild the file from its sources with `immunomod kb build`."
_LINE = re.compile(r"^([0-9a-f]{64})\b")


def sidecar(db: Path) -> Path:
    """Where the checksum of ``db`` lives (``kb.sqlite`` -> ``kb.sqlite.sha256``)."""
    return db.with_name(db.name + ".sha256")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, as 64 lowercase hex digits."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_sidecar(db: Path, digest: str | None = None) -> str:
    """Write the checksum file of ``db`` (``digest`` if already known); return the digest."""
    digest = digest or file_digest(db)
    check = sidecar(db)
    tmp = check.with_name(check.name + ".tmp")
    tmp.write_text(f"{digest}  {db.name}\n", encoding="ascii")
    tmp.replace(check)
    return digest


def verify(db: Path) -> None:
    """Raise :class:`KnowledgeBaseIntegrityError` unless ``db`` matches its checksum file."""
    check = sidecar(db)
    try:
        text = check.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise KnowledgeBaseIntegrityError(
            f"{db} has no checksum file ({check.name}), so it cannot be checked for corruption "
            f"or tampering. {_FIX}"
        ) from None
    except OSError as exc:
        raise KnowledgeBaseIntegrityError(
            f"cannot read the checksum file {check} ({exc.strerror}). {_FIX}"
        ) from None
    found = _LINE.match(text.strip().lower())
    if found is None:
        raise KnowledgeBaseIntegrityError(
            f"{check} does not hold a SHA-256 checksum (expected 64 hex digits). {_FIX}"
        )
    expected = found.group(1)
    actual = file_digest(db)
    if actual != expected:
        raise KnowledgeBaseIntegrityError(
            f"{db} failed its integrity check: the file's SHA-256 is {actual[:16]}…, but "
            f"{check.name} expects {expected[:16]}…; the file is corrupt or was modified after "
            f"it was built. {_FIX}"
        )


__all__ = ["file_digest", "sidecar", "verify", "write_sidecar"]
