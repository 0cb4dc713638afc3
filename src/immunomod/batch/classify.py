"""Classify drug-exposure tables with DuckDB, and build per-person episodes.

    >>> from immunomod.batch.classify import classify, episodes
    >>> classify("drug_exposure.csv", "classified.parquet")   # OMOP: drug_source_value
    ClassifyStats(rows=..., distinct_texts=..., immunomodulator_rows=..., error_rows=..., ...)
    >>> episodes("drug_exposure.csv", "episodes.parquet")
    EpisodeStats(persons=..., episodes=..., ...)

DuckDB reads the input (CSV, TSV or Parquet) and writes the output without loading the table
into Python: only the *distinct* drug texts are resolved (a few thousand even for millions of
rows), put in a small lookup table and joined back (:mod:`immunomod.batch.query` holds the SQL,
shared with the Spark engine). Outputs are written to a temporary name and renamed when
complete, so a killed job never leaves a partial file under the final name; run it again to
resume.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from immunomod.batch.episodes import EPISODE_COLUMNS, GRACE_DAYS, INPUT_COLUMNS, person_episodes
from immunomod.batch.lookup import LOOKUP_COLUMNS, fields, reads_dosing
from immunomod.batch.query import (
    DUCKDB,
    ERROR_KINDS,
    PAIRS_SQL,
    Columns,
    classified_sql,
    concept_view_sql,
    distinct_keys_sql,
    output_sql,
    raw_keys_sql,
    raw_lookup_sql,
    value_columns,
    value_table_sql,
)
from immunomod.errors import UserError

Progress = Callable[[str, int, int], None]  # (stage, done, total)
FORMATS = ("csv", "tsv", "parquet")


class BatchInputError(UserError):
    """The input table cannot be classified; the message names the problem and the fix."""


@dataclass(frozen=True)
class ClassifyStats:
    rows: int
    distinct_texts: int
    immunomodulator_rows: int
    error_rows: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # kind -> rows (ERROR_KINDS)


@dataclass(frozen=True)
class EpisodeStats:
    persons: int
    episodes: int
    levels: dict[str, int]  # level -> episodes
    rows_used: int
    rows_skipped: dict[str, int]  # why exposure rows did not count


def classify(
    input_path: str | Path,
    output_path: str | Path,
    text_column: str | None = None,
    concepts: str | Path | None = None,
    progress: Progress | None = None,
) -> ClassifyStats:
    """Add the ``im_*`` columns to every row of ``input_path``; write ``output_path``.

    The format follows the file suffix (``.csv``, ``.tsv``, ``.parquet``). ``concepts`` is an
    optional OMOP ``concept`` table: rows whose ``drug_concept_id`` it names are resolved from
    the concept's name. ``progress`` is called with (stage, done, total).
    """

    out = _output(output_path)
    con = connect()
    cols = prepare(con, Path(input_path), concepts, text_column, progress, warm=_warm_resolver())
    _copy(con, output_sql(cols, DUCKDB), out)
    return classify_stats(
        out, distinct=con.execute(f"SELECT count(*) FROM ({PAIRS_SQL})").fetchone()
    )


def episodes(
    input_path: str | Path,
    output_path: str | Path,
    text_column: str | None = None,
    concepts: str | Path | None = None,
    person_column: str | None = None,
    grace_days: int = GRACE_DAYS,
    progress: Progress | None = None,
) -> EpisodeStats:
    """Write per-person episodes of high/low/unknown immunosuppression (see
    :mod:`immunomod.batch.episodes` for the rules) from an exposure table."""
    check_grace(grace_days)
    out = _output(output_path)
    con = connect()
    warm = _warm_resolver()
    cols = prepare(con, Path(input_path), concepts, text_column, progress, person_column, warm)
    check_episode_columns(cols)
    skipped = dict(con.execute(skipped_sql(cols, DUCKDB)).fetchall())
    total = int(con.execute(f"SELECT count(*) FROM ({usable_sql(cols, DUCKDB)})").fetchone()[0])
    cursor = con.execute(usable_sql(cols, DUCKDB) + " ORDER BY 1, 8, 9, 2")

    def batches() -> Iterator[Sequence[Any]]:
        done = 0
        while chunk := cursor.fetchmany(50_000):
            done += len(chunk)
            if progress is not None:
                progress("episodes", done, total)
            yield from chunk

    counts = write_episodes(con, by_person(batches(), grace_days), out)
    return EpisodeStats(
        persons=counts["persons"], episodes=counts["episodes"],
        levels={k: v for k, v in counts.items() if k in {"high", "low", "unknown"}},
        rows_used=total, rows_skipped={str(k): int(v) for k, v in skipped.items()},
    )  # fmt: skip


# --- shared steps (the Spark engine uses the same SQL and the same Python) ---------------------


def connect() -> Any:
    """A DuckDB connection that never draws its own progress bar: on a terminal it would
    write to stdout, where `--json` answers and piped output go (ours goes to stderr)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _warm_resolver() -> threading.Thread:
    """Load the resolver and what it reads (:func:`immunomod.batch.lookup.warm`) in a thread
    while DuckDB reads the input (DuckDB's own threads run without the GIL), not after it."""
    from immunomod.batch.lookup import warm

    thread = threading.Thread(target=warm, name="immunomod-warm", daemon=True)
    thread.start()
    return thread


def check_grace(grace_days: int) -> None:
    if grace_days < 0:
        raise BatchInputError("--grace-days must be 0 or more")


def check_episode_columns(cols: Columns) -> None:
    if cols.person is None or cols.start is None:
        raise BatchInputError(
            "episodes need a person column (person_id) and a start date column "
            f"(drug_exposure_start_date); the input has: {', '.join(cols.all)}"
        )


def concept_path(concepts: str | Path | None, cols: Columns) -> Path | None:
    """The concept table's path, checked against the input (None: no concept table)."""
    if concepts is None:
        return None
    cpath = Path(concepts)
    if not cpath.exists():
        raise BatchInputError(f"concept table not found: {cpath}")
    if cols.concept is None:
        raise BatchInputError(
            "a concept table was given but the input has no drug_concept_id column"
        )
    return cpath


def usable_sql(cols: Columns, d: Any) -> str:
    """The exposure rows that count towards episodes: person, then :data:`INPUT_COLUMNS`."""
    person = f"CAST({d.q(cols.person)} AS STRING)"
    return (
        f"SELECT {person} AS im_person, {', '.join(INPUT_COLUMNS)} FROM classified "
        f"WHERE {_usable_condition(person)}"
    )


def _usable_condition(person: str) -> str:
    return (
        f"im_error IS NULL AND {person} IS NOT NULL AND im_start IS NOT NULL "
        "AND im_context = 'current' AND im_level_rule IS NOT NULL "
        "AND im_status IN ('unique', 'needs_review', 'ambiguous') "
        "AND coalesce(im_level, '') <> 'none'"
    )


def skipped_sql(cols: Columns, d: Any) -> str:
    """Why rows about immunomodulators did not count (reason, rows)."""
    person = f"CAST({d.q(cols.person)} AS STRING)"
    reason = (
        "CASE WHEN im_error IS NOT NULL THEN 'bad row (see im_error)' "
        f"WHEN {person} IS NULL THEN 'no person' "
        "WHEN im_context <> 'current' THEN concat('context ', im_context) "
        "WHEN im_status NOT IN ('unique', 'needs_review', 'ambiguous') "
        "THEN concat('drug ', im_status) END"
    )
    return (
        f"SELECT reason, count(*) FROM (SELECT {reason} AS reason FROM classified "
        "WHERE im_immunomodulator OR im_level_rule IS NOT NULL OR im_error IS NOT NULL) "
        "WHERE reason IS NOT NULL GROUP BY reason ORDER BY reason"
    )


def by_person(rows: Iterator[Sequence[Any]], grace_days: int) -> Iterator[tuple[Any, ...]]:
    """Episodes from rows sorted by person (first field), one person at a time."""
    person: Any = None
    mine: list[Sequence[Any]] = []
    for row in rows:
        if row[0] != person and mine:
            yield from person_episodes(str(person), mine, grace_days)
            mine = []
        person = row[0]
        mine.append(row[1:])
    if mine:
        yield from person_episodes(str(person), mine, grace_days)


def write_episodes(con: Any, episodes: Iterator[tuple[Any, ...]], out: Path) -> dict[str, int]:
    """Stream episodes through a temporary CSV (bounded memory) into ``out``; count them."""
    counts: dict[str, int] = {"persons": 0, "episodes": 0}
    last = None
    with tempfile.NamedTemporaryFile(
        "w", newline="", suffix=".csv", dir=out.parent, delete=False, prefix=".episodes."
    ) as fh:
        tmp_csv = Path(fh.name)
        writer = csv.writer(fh)
        writer.writerow(EPISODE_COLUMNS)
        for ep in episodes:
            writer.writerow(ep)
            counts["episodes"] += 1
            counts[ep[2]] = counts.get(ep[2], 0) + 1
            if ep[0] != last:
                counts["persons"] += 1
                last = ep[0]
    try:
        types = ", ".join(
            f"'{c}': '{'VARCHAR' if t == 'STRING' else t}'" for c, t in EPISODE_COLUMNS.items()
        )
        reader = (
            f"read_csv({_literal(str(tmp_csv))}, header = true, columns = {{{types}}}, "
            "nullstr = '')"
        )
        _copy(con, f"SELECT * FROM {reader} ORDER BY person_id, episode", out)
    finally:
        tmp_csv.unlink(missing_ok=True)
    return counts


def prepare(
    con: Any,
    src: Path,
    concepts: str | Path | None,
    text_column: str | None,
    progress: Progress | None = None,
    person_column: str | None = None,
    warm: threading.Thread | None = None,
) -> Columns:
    """Create in ``con`` the views and small tables the row query reads: ``src`` (the input),
    ``concept``, ``rawkeys`` (distinct raw key values), ``lookup`` (one answer per distinct
    name and dosing text), ``rawlookup`` (the answer per raw key), ``im_values_<role>`` (each
    distinct date and number checked once) and ``classified`` (every row with its answer).

    ``warm``: a thread loading the resolver (:func:`_warm_resolver`), joined before use.
    """
    import duckdb

    if not src.exists():
        raise BatchInputError(f"input file not found: {src}")
    try:
        con.execute(f"CREATE VIEW src AS SELECT * FROM {_reader(src)}")
        columns = [r[0] for r in con.execute("DESCRIBE src").fetchall()]
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise BatchInputError(f"cannot read {src.name} as a table: {first}") from None
    cols = Columns.detect(columns, text_column, person_column)
    cpath = concept_path(concepts, cols)
    if cpath is not None:
        try:
            con.execute(f"CREATE VIEW concept_src AS SELECT * FROM {_reader(cpath)}")
            con.execute(f"CREATE TABLE concept AS {concept_view_sql()}")
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise BatchInputError(
                f"cannot read the concept table {cpath.name} (it needs concept_id and "
                f"concept_name columns): {first}"
            ) from None
        cols.has_concepts = True
    con.execute(f"CREATE TABLE rawkeys AS {raw_keys_sql(cols, DUCKDB)}")
    keys = con.execute(distinct_keys_sql(cols, DUCKDB)).fetchall()
    if warm is not None:
        warm.join()
    build_lookup(con, keys, progress)
    con.execute(f"CREATE TABLE rawlookup AS {raw_lookup_sql(cols, DUCKDB)}")
    for role in value_columns(cols):
        con.execute(f"CREATE TABLE im_values_{role} AS {value_table_sql(cols, DUCKDB, role)}")
    con.execute(f"CREATE VIEW classified AS {classified_sql(cols, DUCKDB)}")
    return cols


def build_lookup(con: Any, keys: list[tuple[str, str]], progress: Progress | None = None) -> None:
    """Resolve each distinct (name, dosing text) once into the ``lookup`` table.

    The rows go through a temporary JSON-lines file: DuckDB reads it in one pass with exact
    nulls, booleans and floats, where row-by-row inserts cost more than resolving.
    """
    types = {"im_key": "VARCHAR", "im_extra": "VARCHAR"} | {
        c: "VARCHAR" if t == "STRING" else t for c, t in LOOKUP_COLUMNS.items()
    }
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
        tmp = Path(fh.name)
        done = 0
        for lines, n in _resolved(keys):
            fh.write(lines)
            done += n
            if progress is not None:
                progress("resolve", done, len(keys))
    try:
        columns = ", ".join(f"'{c}': '{t}'" for c, t in types.items())
        con.execute(
            f"CREATE TABLE lookup AS SELECT * FROM read_json({_literal(str(tmp))}, "
            f"format = 'newline_delimited', columns = {{{columns}}})"
        )
    finally:
        tmp.unlink(missing_ok=True)


PARALLEL_FROM = 5_000  # distinct texts; below this, starting workers costs more than it saves
_NAMES = ("im_key", "im_extra", *LOOKUP_COLUMNS)


def _resolve_chunk(keys: list[tuple[str, str]]) -> tuple[str, int]:
    """JSON lines for ``keys`` (made in the worker, so the parent only writes them).

    A name whose answer does not depend on its dosing text (other drugs: most of an EHR
    table) gets one row, with dosing text '', whatever sigs it comes with; ``rawlookup``
    falls back to that row. ``keys`` must hold all the pairs of each name it names.
    """
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    lines, done = [], set()
    for name, extra in keys:
        if extra and not reads_dosing(name):
            extra = ""
        if (name, extra) not in done:
            done.add((name, extra))
            row = dict(zip(_NAMES, (name, extra, *fields(name, extra)), strict=True))
            lines.append(dumps(row) + "\n")
    return "".join(lines), len(keys)


def _chunks(keys: list[tuple[str, str]], size: int = 1000) -> Iterator[list[tuple[str, str]]]:
    """``keys`` in chunks of about ``size`` that never split one name's pairs: each name is
    resolved by one worker only (its sigs then cost a cache hit each)."""
    chunk: list[tuple[str, str]] = []
    for key in sorted(keys, key=lambda k: (k[0].lower(), k)):  # case variants together
        if len(chunk) >= size and key[0].lower() != chunk[-1][0].lower():
            yield chunk
            chunk = []
        chunk.append(key)
    if chunk:
        yield chunk


def _resolved(keys: list[tuple[str, str]]) -> Iterator[tuple[str, int]]:
    """Lookup rows as (JSON lines, count); on several cores, resolved by forked workers that
    inherit the already-loaded resolver (so they start at once)."""
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(keys) < PARALLEL_FROM or sys.platform != "linux":
        yield from map(_resolve_chunk, _chunks(keys))
        return
    import multiprocessing

    from immunomod.names import default_resolver

    default_resolver()  # load before forking: every worker shares it copy-on-write
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap_unordered(_resolve_chunk, _chunks(keys, 500))


def classify_stats(out: Path, distinct: Any = None) -> ClassifyStats:
    """Counts read back from a written output (so they describe exactly what was written)."""

    kinds = ", ".join(
        f"count(*) FILTER (WHERE regexp_matches(im_error, {_literal('(^|; )' + pattern)}))"
        for pattern in ERROR_KINDS.values()
    )
    row = (
        connect()
        .execute(
            f"SELECT count(*), count(*) FILTER (WHERE im_immunomodulator), "
            f"count(*) FILTER (WHERE im_error IS NOT NULL), {kinds} FROM {_reader(out)}"
        )
        .fetchone()
    )
    assert row is not None
    n, hits, bad, *by_kind = row
    errors = {k: int(v) for k, v in zip(ERROR_KINDS, by_kind, strict=True) if v}
    return ClassifyStats(
        rows=int(n), distinct_texts=int(distinct[0]) if distinct else 0,
        immunomodulator_rows=int(hits), error_rows=int(bad), errors=errors,
    )  # fmt: skip


# --- files ------------------------------------------------------------------------------------


def _output(path: str | Path) -> Path:
    out = Path(path)
    _format(out, "output")
    if not out.parent.is_dir():
        raise BatchInputError(f"output folder does not exist: {out.parent}; create it first")
    _remove_stale_partials(out)
    return out


def _remove_stale_partials(out: Path) -> None:
    """Delete what a killed run left (``.NAME.PID.partial``) when that process is gone, so a
    re-run starts clean; a partial file of a job still running is left alone."""
    for stale in out.parent.glob(f".{out.name}.*.partial"):
        pid = stale.name[len(out.name) + 2 : -len(".partial")]
        if pid.isdigit() and not _alive(int(pid)):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _copy(con: Any, select: str, out: Path) -> None:
    """COPY a query to ``out`` through a temporary file renamed at the end (never partial)."""
    fmt = _format(out, "output")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    if fmt == "tsv":
        options += ", DELIMITER '\t'"
    try:
        con.execute(f"COPY ({select}) TO {_literal(str(tmp))} ({options})")
        os.replace(tmp, out)  # complete output appears under its name at once, or not at all
    finally:
        tmp.unlink(missing_ok=True)


def _format(path: Path, what: str) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    raise BatchInputError(f"{what} '{path.name}': use a .csv, .tsv or .parquet file name")


def _reader(path: Path) -> str:
    if path.is_dir():  # a folder of Parquet parts (e.g. written by Spark on a cluster)
        return f"read_parquet({_literal(str(path / '*.parquet'))})"
    fmt = _format(path, "input")
    if fmt == "parquet":
        return f"read_parquet({_literal(str(path))})"
    # all_varchar: ids and codes stay text exactly as written (no lost leading zeros).
    delim = "'\t'" if fmt == "tsv" else "','"
    return f"read_csv({_literal(str(path))}, header = true, all_varchar = true, delim = {delim})"


def _literal(text: str) -> str:
    """A SQL string literal (DuckDB cannot bind parameters in views or COPY targets)."""
    return "'" + text.replace("'", "''") + "'"


__all__ = ["BatchInputError", "ClassifyStats", "EpisodeStats", "classify", "episodes"]
