"""A corrupt or tampered knowledge base is refused at start-up, with a message that names the
file, what differs and the fix, by the library, the CLI and the API alike."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from immunomod import kb
from immunomod.errors import KnowledgeBaseError, KnowledgeBaseIntegrityError
from immunomod.knowledge import integrity
from immunomod.knowledge.store import DEFAULT_DB, ENV_DB, Store

CLI = [sys.executable, "-m", "immunomod"]


@pytest.fixture
def good_db(kb_store: Store, tmp_path: Path) -> Path:
    """A freshly built copy (with its checksum file) that each test may damage."""
    dest = tmp_path / "copy" / "kb.sqlite"
    dest.parent.mkdir()
    shutil.copy(kb_store.path, dest)
    shutil.copy(integrity.sidecar(kb_store.path), integrity.sidecar(dest))
    return dest


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _refusal(path: Path) -> str:
    with pytest.raises(KnowledgeBaseIntegrityError) as err:
        Store.open(path)
    return str(err.value)


def test_build_writes_a_checksum_that_the_store_accepts(kb_store: Store) -> None:
    line = integrity.sidecar(kb_store.path).read_text()
    assert line == f"{integrity.file_digest(kb_store.path)}  kb.sqlite\n"  # sha256sum -c format
    integrity.verify(kb_store.path)


def test_the_shipped_checksum_matches_the_shipped_file() -> None:
    """`immunomod kb build` (`make kb`) rewrites both; commit kb.sqlite.sha256 with kb.sqlite."""
    integrity.verify(DEFAULT_DB)


def test_one_flipped_byte_is_refused_naming_file_mismatch_and_fix(good_db: Path) -> None:
    _flip_byte(good_db, good_db.stat().st_size // 2)
    msg = _refusal(good_db)
    assert str(good_db) in msg
    assert "SHA-256" in msg and "kb.sqlite.sha256 expects" in msg
    assert "Reinstall immunomod" in msg and "`immunomod kb build`" in msg


def test_a_row_edited_with_sqlite_is_refused(good_db: Path) -> None:
    con = sqlite3.connect(good_db)
    with con:
        con.execute("UPDATE ingredients SET inn = 'tampered' WHERE id = 'alphamab'")
    con.close()
    assert "failed its integrity check" in _refusal(good_db)


def test_a_truncated_copy_is_refused(good_db: Path) -> None:
    data = good_db.read_bytes()
    good_db.write_bytes(data[: len(data) // 3])
    assert "corrupt or was modified" in _refusal(good_db)


def test_a_missing_or_garbled_checksum_file_is_refused(good_db: Path) -> None:
    check = integrity.sidecar(good_db)
    check.write_text("not a checksum\n")
    assert "does not hold a SHA-256 checksum" in _refusal(good_db)
    check.unlink()
    msg = _refusal(good_db)
    assert "no checksum file (kb.sqlite.sha256)" in msg and "kb build" in msg


def test_a_non_sqlite_file_with_a_matching_checksum_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "kb.sqlite"
    fake.write_bytes(b"this is not a database\n" * 100)
    integrity.write_sidecar(fake)
    with pytest.raises(KnowledgeBaseError, match="not a usable knowledge base"):
        Store.open(fake)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="not found"):
        Store.open(tmp_path / "nowhere.sqlite")


# --- the edges: one clear line (CLI) or a failed start-up (API), never a traceback ----------


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ENV_DB: str(db)}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_cli_refuses_a_tampered_base_with_exit_3_and_no_traceback(good_db: Path) -> None:
    _flip_byte(good_db, 200)
    for args in (["info", "alphamab", "--json"], ["serve", "--port", "1"]):
        run = _cli(good_db, *args)
        assert run.returncode == 3, run.stderr
        assert run.stderr.startswith(f"Error: {good_db} failed its integrity check")
        assert "Traceback" not in run.stderr and run.stdout == ""


@pytest.fixture
def fresh_store() -> Iterator[None]:
    """kb.store() is opened once per process: forget it around a test that points elsewhere."""
    kb.store.cache_clear()
    yield
    kb.store.cache_clear()


def test_api_start_up_fails_with_the_message(
    good_db: Path, monkeypatch: pytest.MonkeyPatch, fresh_store: None
) -> None:
    from immunomod.interfaces.api import create_app

    _flip_byte(good_db, 200)
    monkeypatch.setenv(ENV_DB, str(good_db))
    app = create_app()
    # Entering the client runs the start-up (lifespan), which opens the knowledge base.
    with (
        pytest.raises(KnowledgeBaseIntegrityError, match="failed its integrity check"),
        TestClient(app),
    ):
        pass
    # Without the start-up (e.g. an ASGI server with lifespan off), each request says why.
    r = TestClient(app).get("/v1/kb/stats")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "failed its integrity check" in r.json()["detail"]
