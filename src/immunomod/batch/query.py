"""The row-level SQL shared by the DuckDB and Spark engines.

Both engines run the *same* query text (built here, with the few dialect differences spelled
out in :class:`Dialect`) over the same views: ``src`` (the input table), optionally ``concept``
(an OMOP concept table) and ``lookup`` (one row per distinct drug text, from
:func:`immunomod.batch.lookup.fields`). That is what makes their outputs identical.

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


def key_sql(cols: Columns, d: Dialect) -> tuple[str, str, str, str]:
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
    frm = "src s"
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


def distinct_keys_sql(cols: Columns, d: Dialect) -> str:
    frm, name, extra, _ = key_sql(cols, d)
    return (
        f"SELECT DISTINCT {name} AS im_key, {extra} AS im_extra FROM {frm} WHERE {name} IS NOT NULL"
    )


def classified_sql(cols: Columns, d: Dialect) -> str:
    """Every input row with the lookup's fields and the row-level fields (dates, dose, errors)."""
    frm, name, extra, source = key_sql(cols, d)
    # Each value column's text, trimmed (NULL when empty), computed once here: the checks,
    # casts and error messages below all read it.
    roles = {c: f"im__raw{i}" for i, c in enumerate(
        [c for c in (cols.start, cols.end, cols.days_supply, cols.quantity) if c]
    )}  # fmt: skip
    raws = "".join(
        f", nullif(trim(CAST(s.{d.q(c)} AS STRING)), '') AS {alias}" for c, alias in roles.items()
    )
    base = (
        f"SELECT s.*, {name} AS im_key, {extra} AS im_extra, {source} AS im_text_source{raws} "
        f"FROM {frm}"
    )

    def raw(col: str | None) -> str:
        return f"b.{roles[col]}" if col else "CAST(NULL AS STRING)"

    def date_of(col: str | None) -> str:
        r = raw(col)
        return f"CASE WHEN {d.full_match(r, _DATE)} THEN TRY_CAST(substr({r}, 1, 10) AS DATE) END"

    def number_of(col: str | None) -> str:
        r = raw(col)
        return f"CASE WHEN {d.full_match(r, _NUMBER)} THEN TRY_CAST(trim({r}) AS DOUBLE) END"

    def shown(col: str | None) -> str:
        return f"substr({raw(col)}, 1, 40)"

    errors = [
        "CASE WHEN b.im_key IS NULL THEN 'no drug text (empty name and no concept name)' END",
        "CASE WHEN b.im__text_error IS NOT NULL THEN concat('drug text: ', b.im__text_error) END",
    ]
    if cols.start:
        errors.append(
            f"CASE WHEN {raw(cols.start)} IS NULL THEN 'no start date' "
            f"WHEN im__start IS NULL THEN concat('start date ''', {shown(cols.start)}, "
            "''' is not a date (write YYYY-MM-DD)') END"
        )
    if cols.end:
        errors.append(
            f"CASE WHEN {raw(cols.end)} IS NOT NULL AND im__end IS NULL THEN concat('end date ''', "
            f"{shown(cols.end)}, ''' is not a date (write YYYY-MM-DD)') "
            "WHEN im__end < im__start THEN 'end date is before the start date' END"
        )
    if cols.days_supply:
        errors.append(
            f"CASE WHEN {raw(cols.days_supply)} IS NOT NULL AND im__days IS NULL THEN concat("
            f"'days_supply ''', {shown(cols.days_supply)}, ''' is not a number') "
            "WHEN im__days < 0 THEN 'days_supply is negative' "
            f"WHEN im__days > {MAX_DAYS} THEN 'days_supply is over 100 years' END"
        )
    if cols.quantity:
        errors.append(
            f"CASE WHEN {raw(cols.quantity)} IS NOT NULL AND im__qty IS NULL THEN concat("
            f"'quantity ''', {shown(cols.quantity)}, ''' is not a number') "
            "WHEN im__qty < 0 THEN 'quantity is negative' END"
        )
    lookup = ", ".join(f"l.{c}" for c in LOOKUP_COLUMNS)
    parsed = (
        f"SELECT b.*, {lookup}, {date_of(cols.start)} AS im__start, "
        f"{date_of(cols.end)} AS im__end, "
        f"{number_of(cols.days_supply)} AS im__days, {number_of(cols.quantity)} AS im__qty "
        "FROM base b LEFT JOIN lookup l ON b.im_key = l.im_key AND b.im_extra = l.im_extra"
    )
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
    end = (
        "CASE WHEN im__start IS NULL THEN NULL "
        "WHEN im__end IS NOT NULL AND im__end >= im__start THEN im__end "
        f"WHEN {ok['im__days']} THEN {days_end} WHEN {ok['im__sig_days']} THEN {sig_end} "
        f"WHEN {ok['im__interval_days']} THEN {interval_end} ELSE im__start END"
    )
    end_basis = (
        "CASE WHEN im__start IS NULL THEN NULL WHEN im__end IS NOT NULL AND im__end >= im__start "
        f"THEN 'end_date' WHEN {ok['im__days']} THEN 'days_supply' "
        f"WHEN {ok['im__sig_days']} THEN 'sig' "
        f"WHEN {ok['im__interval_days']} THEN 'dosing_interval' ELSE 'one_day' END"
    )
    per_day = f"coalesce(im__sig_per_day, {by_supply})"
    row = {
        "im_text_source": "im_text_source",
        "im_amount_per_day": per_day,
        "im_dose_basis": (
            "CASE WHEN im__sig_per_day IS NOT NULL THEN 'sig' "
            f"WHEN {by_supply} IS NOT NULL THEN 'quantity_days_supply' END"
        ),
        "im_pred_eq_mg_per_day": (
            f"CASE WHEN im__pe_factor IS NOT NULL AND NOT im_local "
            f"THEN {per_day} * im__pe_factor END"
        ),
        "im_start": "im__start",
        "im_end": end,
        "im_end_basis": end_basis,
        "im_error": f"nullif(concat_ws('; ', {', '.join(errors)}), '')",
    }
    keep = ", ".join("b." + d.q(c) for c in cols.all)
    outs = ", ".join(f"b.{c}" for c in LOOKUP_COLUMNS)
    rows = ", ".join(f"{expr} AS {name}" for name, expr in row.items())
    return (
        f"WITH base AS ({base}), parsed AS ({parsed}) SELECT {keep}, {outs}, {rows} FROM parsed b"
    )


def output_sql(cols: Columns, d: Dialect) -> str:
    """The written columns: the input's, then :data:`OUTPUT_COLUMNS` (internal ones dropped)."""
    return "SELECT " + ", ".join(d.q(c) for c in [*cols.all, *OUTPUT_COLUMNS]) + " FROM classified"


__all__ = [
    "DUCKDB", "ERROR_KINDS", "OUTPUT_COLUMNS", "ROW_COLUMNS", "SPARK", "Columns", "Dialect",
    "classified_sql", "concept_view_sql", "distinct_keys_sql", "output_sql",
]  # fmt: skip
