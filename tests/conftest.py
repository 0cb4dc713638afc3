"""Shared fixtures: a small valid knowledge base to copy and break, and its compiled form."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

FIXTURES = Path(__file__).parent / "fixtures"

# `make test` is deterministic (the same examples every run, so CI cannot fail by chance);
# set HYPOTHESIS_PROFILE=explore for fresh random examples when hunting for bugs.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/kb_minimal (two drugs, two classes)."""
    dest = tmp_path / "data"
    shutil.copytree(FIXTURES / "kb_minimal", dest)
    return dest


@pytest.fixture
def kb_store(kb_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The minimal knowledge base compiled and opened."""
    from immunomod.knowledge.compiler import build
    from immunomod.knowledge.store import Store

    db = tmp_path / "kb.sqlite"
    build(kb_dir, db)
    return Store.open(db)
