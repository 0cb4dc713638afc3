"""The row-level SQL shared by the DuckDB and Spark engines.

Both engines run the *same* query text (built here, with the few dialect differences spelled
out in :class:`Dialect`) over the same views: ``src`` (the input table), optionally ``concept``
(an OMOP concept table), ``rawkeys`` (:func:`raw_keys_sql`), ``lookup`` (one row per distinct
drug text, from :func:`immunomod.batch.lookup.fields`), ``rawlookup`` (:func:`raw_lookup_sql`)
and ``im_values_<role>`` (:func:`value_table_sql`). That is what makes their outputs identical.

Per-row work is kept to joins on values as stored: everything that can be worked out once per
distinct value (the drug answer per raw key combination, each date and number's check and
cast) is, which keeps ``batch classify`` within 1.5x of a bare join (README, Benchmarks).

Values are validated with explicit patterns before any cast, because the engines' casts accept
different things (Spark reads '2023' as a date; DuckDB does not).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from immunomod.batch.lookup import LOOKUP_COLUMNS

#: OMOP CDM v5.4 drug_exposure columns used when present (other tables: name them by flag).
OMOP = {
    "text": "drug_source_value",
    "concept": "drug_concept_id",
    "sig": "sig",
    "route": "route_source_value",
    "start": "drug_exposure_start_date",
    "end": "drug_exposure_end_date",
    "days_supply": "days_supply",
    "quantity": "quantity",
    "person": "person_id",
}
TEXT_FALLBACKS = ("drug_source_value", "drug", "drug_name", "medication", "text")
START_FALLBACKS = ("drug_exposure_start_date", "start_date", "start")
END_FALLBACKS = ("drug_exposure_end_date", "end_date", "end")

#: Columns written after the input's own columns, in this order.
ROW_COLUMNS: dict[str, str] = {
    "im_text_source": "STRING", "im_amount_per_day": "DOUBLE", "im_dose_basis": "STRING",
    "im_pred_eq_mg_per_day": "DOUBLE", "im_start": "DATE", "im_end": "DATE",
    "im_end_basis": "STRING", "im_error": "STRING",
}  # fmt: skip
OUTPUT_COLUMNS = [c for c in LOOKUP_COLUMNS if not c.startswith("im__")] + list(ROW_COLUMNS)

#: Each kind of bad row, with the pattern that starts its message in ``im_error`` (messages
#: are joined with "; ", so each pattern is anchored at the start of a message).
ERROR_KINDS = {
    "no_text": "no drug text",
    "bad_start": "(no start date|start date ')",
    "bad_end": "end date '",
    "end_before_start": "end date is before",
    "bad_days_supply": "days_supply",
    "bad_quantity": "quantity",
    "bad_text": "drug text:",
}

MAX_DAYS = 36_525  # 100 years: longer supplies or durations are errors, never cast
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?"
_NUMBER = " *-?[0-9]+([.][0-9]+)? *"


@dataclass(frozen=True)
class Dialect:
    name: str  # "duckdb" | "spark"

    def full_match(self, expr: str, pattern: str) -> str:
        # No backslashes in patterns: Spark string literals treat them as escapes, DuckDB not.
        assert "\\" not in pattern
        if self.name == "spark":
            return f"({expr} RLIKE '^(?:{pattern})$')"
        return f"regexp_full_match({expr}, '{pattern}')"

    def q(self, name: str) -> str:
        """A quoted identifier."""
        if self.name == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def same(self, a: str, b: str) -> str:
        """Null-safe equality (NULL matches NULL), usable as a hash-join key."""
        if self.name == "spark":
            return f"{a} <=> {b}"
        return f"{a} IS NOT DISTINCT FROM {b}"

    def add_days(self, date_expr: str, days_expr: str) -> str:
        if self.name == "spark":
            return f"date_add({date_expr}, CAST({days_expr} AS INT))"
        return f"CAST({date_expr} + CAST({days_expr} AS INTEGER) AS DATE)"


DUCKDB, SPARK = Dialect("duckdb"), Dialect("spark")


@dataclass
class Columns:
    """Which input columns play which part (None: the table has no such column)."""

    all: list[str]
    text: str
    concept: str | None = None
    sig: str | None = None
    route: str | None = None
    start: str | None = None
    end: str | None = None
    days_supply: str | None = None
    quantity: str | None = None
    person: str | None = None
    has_concepts: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def detect(
        cls, columns: list[str], text: str | None = None, person: str | None = None
    ) -> Columns:
        """Pick columns by flag, else by OMOP name, else by common names."""
        from immunomod.batch.classify import BatchInputError

        def pick(wanted: str | None, names: tuple[str, ...], what: str) -> str | None:
            if wanted:
                if wanted not in columns:
                    raise BatchInputError(
                        f"no {what} column '{wanted}' in the input; its columns are: "
                        + ", ".join(columns)
                    )
                return wanted
            return next((n for n in names if n in columns), None)

        chosen_text = pick(text, TEXT_FALLBACKS, "drug text")
        if chosen_text is None:
            raise BatchInputError(
                "no drug text column found (looked for " + ", ".join(TEXT_FALLBACKS) + "); "
                f"name it with --text-column. Columns: {', '.join(columns)}"
            )
        clash = sorted(c for c in columns if c.lower().startswith("im_"))
        if clash:  # the im_ prefix is ours: output and working columns
            raise BatchInputError(f"the input already has {', '.join(clash)}; rename those columns")
        return cls(
            all=list(columns),
            text=chosen_text,
            concept=pick(None, (OMOP["concept"],), "concept"),
            sig=pick(None, (OMOP["sig"],), "sig"),
            route=pick(None, (OMOP["route"],), "route"),
            start=pick(None, START_FALLBACKS, "start date"),
            end=pick(None, END_FALLBACKS, "end date"),
            days_supply=pick(None, (OMOP["days_supply"],), "days supply"),
            quantity=pick(None, (OMOP["quantity"],), "quantity"),
            person=pick(person, (OMOP["person"], "patient_id", "person"), "person"),
        )


def key_columns(cols: Columns) -> list[str]:
    """The input columns a row's drug answer depends on (text, concept id, sig, route)."""
    chosen = [cols.text, cols.concept if cols.has_concepts else None, cols.sig, cols.route]
    return list(dict.fromkeys(c for c in chosen if c))


def key_sql(cols: Columns, d: Dialect, table: str = "src") -> tuple[str, str, str, str]:
    """(FROM clause, name expression, dosing-text expression, text-source expression).

    The name is the concept's name when the row's concept id is in the concept table (a
    standard RxNorm name reads better than many local strings), else the source value. The
    dosing text is the sig and the route ('' when neither): "prednisolone 5 mg tablets" +
    "8 daily" gives 40 mg/day, and an eye route makes a steroid local. Each distinct name is
    resolved once, each distinct (name, dosing text) pair only read for its sig.
    """

    def _s(col: str) -> str:
        return f"CAST(s.{d.q(col)} AS STRING)"

    name = f"nullif(trim({_s(cols.text)}), '')"
    source = f"CASE WHEN {name} IS NOT NULL THEN 'source_value' END"
    frm = f"{table} s"
    if cols.has_concepts and cols.concept:
        frm += f" LEFT JOIN concept c ON {_s(cols.concept)} = c.im_cid"
        source = (
            "CASE WHEN c.im_cname IS NOT NULL THEN 'concept' "
            f"WHEN {name} IS NOT NULL THEN 'source_value' END"
        )
        name = f"coalesce(c.im_cname, {name})"
    parts = [f"nullif(trim({_s(c)}), '')" for c in (cols.sig, cols.route) if c]
    extra = f"trim(concat_ws(' ', {', '.join(parts)}))" if parts else "''"
    return frm, name, extra, source


def concept_view_sql() -> str:
    """One name per concept id (a concept table may list an id twice across vocabularies)."""
    return (
        "SELECT CAST(concept_id AS STRING) AS im_cid, min(concept_name) AS im_cname "
        "FROM concept_src WHERE concept_name IS NOT NULL AND CAST(concept_id AS STRING) <> '0' "
        "GROUP BY CAST(concept_id AS STRING)"
    )


def raw_keys_sql(cols: Columns, d: Dialect) -> str:
    """Each distinct combination of the key columns' raw values (the view ``rawkeys``).

    Distinct raw values are found first, with no casts, trims or concept join per row: the
    per-row work of a table of millions then is one hash of the values as they are stored.
    """
    return f"SELECT DISTINCT {', '.join(d.q(c) for c in key_columns(cols))} FROM src"


def distinct_keys_sql(cols: Columns, d: Dialect) -> str:
    """The distinct (name, dosing text) pairs to resolve, from ``rawkeys``."""
    frm, name, extra, _ = key_sql(cols, d, "rawkeys")
    return (
        f"SELECT DISTINCT {name} AS im_key, {extra} AS im_extra FROM {frm} WHERE {name} IS NOT NULL"
    )


def raw_lookup_sql(cols: Columns, d: Dialect) -> str:
    """``rawkeys`` with the answer for each (the view ``rawlookup``): rows join it on their
    raw key values, so the name, dosing text and concept name are never rebuilt per row. It
    also holds the complete answer for every distinct (name, dosing text): :data:`PAIRS_SQL`."""
    frm, name, extra, source = key_sql(cols, d, "rawkeys")
    # A pair's own row, else the name's row with dosing text '' (the answer for a name that
    # reads no dosing: see classify._resolve_chunk).
    lookup = ", ".join(
        f"CASE WHEN l.im_key IS NOT NULL THEN l.{c} ELSE l0.{c} END AS {c}" for c in LOOKUP_COLUMNS
    )
    return (
        f"SELECT s.*, {name} AS im_key, {extra} AS im_extra, {source} AS im_text_source, "
        f"{lookup} FROM {frm} "
        f"LEFT JOIN lookup l ON {name} = l.im_key AND {extra} = l.im_extra "
        f"LEFT JOIN lookup l0 ON {name} = l0.im_key AND l0.im_extra = ''"
    )


#: Value columns checked and cast once per distinct value (role -> alias of the typed value).
VALUES = {"start": "im__start", "end": "im__end", "days_supply": "im__days",
          "quantity": "im__qty"}  # fmt: skip


def value_columns(cols: Columns) -> dict[str, str]:
    """The value columns the input has: role -> column name."""
    return {role: col for role in VALUES if (col := getattr(cols, role))}


def value_table_sql(cols: Columns, d: Dialect, role: str) -> str:
    """One row per distinct value of one column (the view ``im_values_<role>``): the raw value,
    the typed value (NULL when missing or bad) and what is wrong with it (NULL when fine).

    A table of millions of rows holds a few thousand distinct dates and numbers; checking each
    once and joining the answer back costs far less than a pattern match on every row.
    """
    r = "nullif(trim(CAST(im_raw AS STRING)), '')"
    shown = f"substr({r}, 1, 40)"
    if role in {"start", "end"}:
        value = f"CASE WHEN {d.full_match(r, _DATE)} THEN TRY_CAST(substr({r}, 1, 10) AS DATE) END"
        bad = (
            f"CASE WHEN {r} IS NOT NULL AND v IS NULL THEN concat('{role} date ''', {shown}, "
            "''' is not a date (write YYYY-MM-DD)') END"
        )
        if role == "start":
            bad = f"CASE WHEN {r} IS NULL THEN 'no start date' ELSE {bad} END"
    else:
        value = f"CASE WHEN {d.full_match(r, _NUMBER)} THEN TRY_CAST(trim({r}) AS DOUBLE) END"
        too_long = (
            f"WHEN v > {MAX_DAYS} THEN '{role} is over 100 years' " if role == "days_supply" else ""
        )
        bad = (
            f"CASE WHEN {r} IS NOT NULL AND v IS NULL THEN concat('{role} ''', {shown}, "
            f"''' is not a number') WHEN v < 0 THEN '{role} is negative' {too_long}END"
        )
    col = d.q(value_columns(cols)[role])
    return (
        f"SELECT im_raw, v AS im_v, {bad} AS im_bad FROM (SELECT im_raw, {value} AS v FROM "
        f"(SELECT DISTINCT {col} AS im_raw FROM src) raws) typed"
    )


#: Each distinct (name, dosing text) with its complete answer, read from ``rawlookup``.
PAIRS_SQL = (
    "SELECT DISTINCT im_key, im_extra, " + ", ".join(LOOKUP_COLUMNS)
    + " FROM rawlookup WHERE im_key IS NOT NULL"
)  # fmt: skip


def classified_sql(cols: Columns, d: Dialect) -> str:
    """Every input row with the lookup's fields and the row-level fields (dates, dose, errors).

    Reads the views ``src``, ``rawlookup`` and ``im_values_<role>`` (:func:`value_table_sql`).
    """
    on = " AND ".join(d.same(f"s.{d.q(c)}", f"r.{d.q(c)}") for c in key_columns(cols))
    lookup = ", ".join(f"r.{c}" for c in LOOKUP_COLUMNS)
    joins, values = "", ""
    for role, alias in VALUES.items():
        col = value_columns(cols).get(role)
        if col is None:
            kind = "DATE" if role in {"start", "end"} else "DOUBLE"
            values += f", CAST(NULL AS {kind}) AS {alias}, CAST(NULL AS STRING) AS {alias}_bad"
            continue
        v = f"v_{role}"
        joins += f" LEFT JOIN im_values_{role} {v} ON {d.same(f's.{d.q(col)}', f'{v}.im_raw')}"
        values += f", {v}.im_v AS {alias}, {v}.im_bad AS {alias}_bad"
    parsed = (
        f"SELECT s.*, r.im_key, r.im_text_source, {lookup}{values} "
        f"FROM src s LEFT JOIN rawlookup r ON {on}{joins}"
    )
    before = "im__end < im__start"
    # Each check twice: as a condition a good row meets (most rows: the messages are then
    # built only for the few bad ones) and as its message.
    good = ["b.im_key IS NOT NULL", "b.im__text_error IS NULL", "im__start_bad IS NULL",
            "im__end_bad IS NULL", f"NOT coalesce({before}, FALSE)", "im__days_bad IS NULL",
            "im__qty_bad IS NULL"]  # fmt: skip
    errors = [
        "CASE WHEN b.im_key IS NULL THEN 'no drug text (empty name and no concept name)' END",
        "CASE WHEN b.im__text_error IS NOT NULL THEN concat('drug text: ', b.im__text_error) END",
        "im__start_bad",
        f"coalesce(im__end_bad, CASE WHEN {before} THEN 'end date is before the start date' END)",
        "im__days_bad",
        "im__qty_bad",
    ]
    # Dose per day: the sig's when it has one; else strength x quantity / days supply (the
    # usual pharmacoepidemiology estimate), only for a strength in mg and sane numbers.
    by_supply = (
        "CASE WHEN im__sig_per_day IS NULL AND im_unit = 'mg' AND im_dose > 0 AND im__qty > 0 "
        "AND im__days > 0 THEN im_dose * im__qty / im__days END"
    )
    days_end = d.add_days("im__start", "im__days - 1")
    sig_end = d.add_days("im__start", "ceil(im__sig_days) - 1")
    interval_end = d.add_days("im__start", "ceil(im__interval_days) - 1")
    # Whole-number day counts in a sane range only: a cast of an absurd number would stop
    # the job in both engines.
    ok = {name: f"{name} >= 1 AND {name} <= {MAX_DAYS}"
          for name in ("im__days", "im__sig_days", "im__interval_days")}  # fmt: skip
    # Which value sets the end (computed once per row; the end date follows from it).
    end_basis = (
        "CASE WHEN im__start IS NULL THEN NULL WHEN im__end IS NOT NULL AND im__end >= im__start "
        f"THEN 'end_date' WHEN {ok['im__days']} THEN 'days_supply' "
        f"WHEN {ok['im__sig_days']} THEN 'sig' "
        f"WHEN {ok['im__interval_days']} THEN 'dosing_interval' ELSE 'one_day' END"
    )
    end = (
        "CASE im_end_basis WHEN 'end_date' THEN im__end "
        f"WHEN 'days_supply' THEN {days_end} WHEN 'sig' THEN {sig_end} "
        f"WHEN 'dosing_interval' THEN {interval_end} ELSE im__start END"
    )
    per_day = "coalesce(im__sig_per_day, im__by_supply)"
    row = {
        "im_text_source": "im_text_source",
        "im_amount_per_day": per_day,
        "im_dose_basis": (
            "CASE WHEN im__sig_per_day IS NOT NULL THEN 'sig' "
            "WHEN im__by_supply IS NOT NULL THEN 'quantity_days_supply' END"
        ),
        "im_pred_eq_mg_per_day": (
            f"CASE WHEN im__pe_factor IS NOT NULL AND NOT im_local "
            f"THEN {per_day} * im__pe_factor END"
        ),
        "im_start": "im__start",
        "im_end": end,
        "im_end_basis": "im_end_basis",
        "im_error": (
            f"CASE WHEN {' AND '.join(good)} THEN NULL "
            f"ELSE nullif(concat_ws('; ', {', '.join(errors)}), '') END"
        ),
    }
    keep = ", ".join("b." + d.q(c) for c in cols.all)
    outs = ", ".join(f"b.{c}" for c in LOOKUP_COLUMNS)
    rows = ", ".join(f"{expr} AS {name}" for name, expr in row.items())
    return (
        f"WITH parsed AS ({parsed}), based AS (SELECT *, {end_basis} AS im_end_basis, "
        f"{by_supply} AS im__by_supply FROM parsed) SELECT {keep}, {outs}, {rows} FROM based b"
    )


def output_sql(cols: Columns, d: Dialect) -> str:
    """The written columns: the input's, then :data:`OUTPUT_COLUMNS` (internal ones dropped)."""
    return "SELECT " + ", ".join(d.q(c) for c in [*cols.all, *OUTPUT_COLUMNS]) + " FROM classified"


__all__ = [
    "DUCKDB", "ERROR_KINDS", "OUTPUT_COLUMNS", "PAIRS_SQL", "ROW_COLUMNS", "SPARK", "Columns",
    "Dialect",
    "classified_sql", "concept_view_sql", "distinct_keys_sql", "key_columns", "output_sql",
    "raw_keys_sql", "raw_lookup_sql", "value_columns", "value_table_sql",
]  # fmt: skip
