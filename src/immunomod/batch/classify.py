"""Classify drug-exposure tables: every row gets the resolver's answer for its drug text.

    >>> from immunomod.batch.classify import classify
    >>> classify("drug_exposure.csv", "classified.parquet")   # OMOP: drug_source_value
    ClassifyStats(rows=..., distinct_texts=..., immunomodulator_rows=...)

DuckDB reads the input (CSV or Parquet) and writes the output without loading the table into
Python: only the *distinct* drug strings are resolved (a few thousand even for millions of
rows), put in a small lookup table, and joined back. The output is written to a temporary file
and renamed when complete, so a killed job never leaves a partial file under the final name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from immunomod.errors import UserError
from immunomod.names import resolve

#: OMOP CDM v5.4 drug_exposure: the source text column, in order of preference.
OMOP_TEXT_COLUMNS = ("drug_source_value",)
RESULT_COLUMNS = {
    "im_ingredient": "VARCHAR", "im_ingredients": "VARCHAR", "im_immunomodulator": "BOOLEAN",
    "im_direction": "VARCHAR", "im_class": "VARCHAR", "im_type": "VARCHAR",
    "im_status": "VARCHAR", "im_confidence": "DOUBLE", "im_context": "VARCHAR",
    "im_route": "VARCHAR", "im_local": "BOOLEAN", "im_dose": "DOUBLE", "im_unit": "VARCHAR",
    "im_amount_per_day": "DOUBLE", "im_error": "VARCHAR",
}  # fmt: skip


class BatchInputError(UserError):
    """The input table cannot be classified; the message names the problem and the fix."""


@dataclass(frozen=True)
class ClassifyStats:
    rows: int
    distinct_texts: int
    immunomodulator_rows: int


def classify(
    input_path: str | Path,
    output_path: str | Path,
    text_column: str | None = None,
    progress: Any = None,
) -> ClassifyStats:
    """Add the ``im_*`` columns to every row of ``input_path``; write ``output_path``.

    The format follows the file suffix (``.csv``, ``.tsv``, ``.parquet``). ``progress``, if
    given, is called with (done, total) distinct strings as they are resolved.
    """
    import duckdb

    src, out = Path(input_path), Path(output_path)
    if not src.exists():
        raise BatchInputError(f"input file not found: {src}")
    out_format = _format(out, "output")
    if not out.parent.is_dir():
        raise BatchInputError(f"output folder does not exist: {out.parent}; create it first")
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW src AS SELECT * FROM {_reader(src)}")
        columns = [r[0] for r in con.execute("DESCRIBE src").fetchall()]
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise BatchInputError(f"cannot read {src.name} as a table: {first}") from None
    col = _text_column(columns, text_column)
    clash = sorted(set(columns) & set(RESULT_COLUMNS))
    if clash:
        raise BatchInputError(f"the input already has {', '.join(clash)}; rename those columns")
    q = _quote(col)
    texts = [r[0] for r in con.execute(f"SELECT DISTINCT {q} FROM src WHERE {q} IS NOT NULL")
             .fetchall()]  # fmt: skip
    con.execute(
        "CREATE TABLE lookup (im_text VARCHAR, "
        + ", ".join(f"{c} {t}" for c, t in RESULT_COLUMNS.items()) + ")"
    )  # fmt: skip
    rows = []
    for i, text in enumerate(texts, 1):
        rows.append((str(text), *_fields(str(text))))
        if progress is not None and (i % 500 == 0 or i == len(texts)):
            progress(i, len(texts))
    if rows:
        marks = ", ".join("?" * (len(RESULT_COLUMNS) + 1))
        con.executemany(f"INSERT INTO lookup VALUES ({marks})", rows)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    options = "FORMAT parquet" if out_format == "parquet" else "FORMAT csv, HEADER true"
    if out_format == "tsv":
        options += ", DELIMITER '\t'"
    try:
        con.execute(
            f"COPY (SELECT src.*, {', '.join('l.' + c for c in RESULT_COLUMNS)} FROM src "
            f"LEFT JOIN lookup l ON CAST(src.{q} AS VARCHAR) = l.im_text) "
            f"TO {_literal(str(tmp))} ({options})"
        )
        os.replace(tmp, out)  # complete output appears under its name at once, or not at all
    finally:
        tmp.unlink(missing_ok=True)
    n, hits = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE im_immunomodulator) FROM {_reader(out)}"
    ).fetchone() or (0, 0)
    return ClassifyStats(rows=int(n), distinct_texts=len(texts), immunomodulator_rows=int(hits))


def _fields(text: str) -> tuple[Any, ...]:
    """The row-level answer: the first immunomodulator mention (or the first mention)."""
    res = resolve(text[:10_000])
    if res.error or not res.matches:
        error = res.error or ("not recognised" + (f"; did you mean {', '.join(res.suggestions)}?"
                                                  if res.suggestions else ""))  # fmt: skip
        return (None, None, False, None, None, None, "not_found", None, None, None, False,
                None, None, None, error)  # fmt: skip
    m = next((x for x in res.matches if x.immunomodulator), res.matches[0])
    every = ";".join(dict.fromkeys(x.ingredient for x in res.matches if x.ingredient))
    sig = m.sig
    return (
        m.ingredient, every or None, m.immunomodulator, m.direction, m.class_, m.type,
        m.status, m.confidence, m.context, m.route, m.local,
        sig.dose if sig else None, sig.unit if sig else None,
        sig.amount_per_day if sig else None, None,
    )  # fmt: skip


def _format(path: Path, what: str) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in {"csv", "tsv", "parquet"}:
        return suffix
    raise BatchInputError(f"{what} '{path.name}': use a .csv, .tsv or .parquet file name")


def _reader(path: Path) -> str:
    fmt = _format(path, "input")
    if fmt == "parquet":
        return f"read_parquet({_literal(str(path))})"
    # all_varchar: ids and codes stay text exactly as written (no lost leading zeros).
    delim = "'\t'" if fmt == "tsv" else "','"
    return f"read_csv({_literal(str(path))}, header = true, all_varchar = true, delim = {delim})"


def _literal(text: str) -> str:
    """A SQL string literal (DuckDB cannot bind parameters in views or COPY targets)."""
    return "'" + text.replace("'", "''") + "'"


def _text_column(columns: list[str], wanted: str | None) -> str:
    if wanted:
        if wanted not in columns:
            raise BatchInputError(
                f"no column '{wanted}' in the input; its columns are: {', '.join(columns)}"
            )
        return wanted
    for name in (*OMOP_TEXT_COLUMNS, "drug", "drug_name", "medication", "text"):
        if name in columns:
            return name
    raise BatchInputError(
        "no drug text column found (looked for drug_source_value, drug, drug_name, medication, "
        f"text); name it with --text-column. Columns: {', '.join(columns)}"
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


__all__ = ["BatchInputError", "ClassifyStats", "classify"]
