"""Read-only queries on the compiled knowledge base (SQLite). The run-time core of ``kb``.

>>> store = Store.open()
>>> store.get("humira").inn
'adalimumab'
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from immunomod.errors import KnowledgeBaseError, UnknownConditionError, UnknownDrugError
from immunomod.knowledge import integrity
from immunomod.knowledge.models import (
    ATC_LEVEL5,
    Condition,
    DrugRecord,
    ScopeCode,
    Source,
    TaxonClass,
)
from immunomod.knowledge.normalise import name_key

DEFAULT_DB = Path(__file__).parent / "kb.sqlite"
#: Read another compiled knowledge base instead of the package's own (``kb build --output``).
ENV_DB = "IMMUNOMOD_KB"
#: Bump when the table layout changes; the store refuses a file of another version.
SCHEMA_VERSION = 8
_ATC_ANY = re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$")


@dataclass(frozen=True)
class DrugSummary:
    """One line of a search or class listing."""

    id: str
    inn: str
    direction: str
    class_id: str
    type_id: str
    matched: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "inn": self.inn, "direction": self.direction}
        d |= {"class": self.class_id, "type": self.type_id}
        if self.matched is not None:
            d["matched"] = self.matched
        return d


class Store:
    """A read-only connection to a compiled knowledge base."""

    def __init__(self, con: sqlite3.Connection, path: Path):
        self._con = con
        self.path = path
        self._records: dict[str, DrugRecord] = {}

    @classmethod
    def open(cls, path: Path | None = None) -> Store:
        """Open ``path`` (default: ``$IMMUNOMOD_KB``, else the package's own file) read-only.

        Refuses, with a message naming the file and the fix, a file that is missing, whose bytes
        do not match the checksum written when it was built (corrupt, truncated or edited:
        :class:`~immunomod.errors.KnowledgeBaseIntegrityError`), that is not SQLite, or whose
        layout is of another version.
        """
        path = path or Path(os.environ.get(ENV_DB) or DEFAULT_DB)
        if not path.is_file():
            raise KnowledgeBaseError(
                f"Knowledge base not found at {path}. Build it with `immunomod kb build` "
                "(or reinstall the package)."
            )
        # Before SQLite reads a page: a damaged file can fail on any later query, mid-request.
        integrity.verify(path)
        try:
            # immutable=1: the file is shipped read-only; no locking, safe across threads.
            con = sqlite3.connect(
                f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
            )
            row = con.execute("SELECT value FROM meta WHERE key = 'stats'").fetchone()
            version = json.loads(row[0]).get("schema_version") if row else None
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseError(
                f"{path} is not a usable knowledge base ({exc}). Rebuild it with "
                "`immunomod kb build`."
            ) from exc
        if version != SCHEMA_VERSION:
            con.close()
            raise KnowledgeBaseError(
                f"{path} has layout version {version}, this immunomod reads {SCHEMA_VERSION}. "
                "Rebuild it with `immunomod kb build`."
            )
        return cls(con, path)

    # --- lookups -----------------------------------------------------------------------

    def _ids_for_name(self, name: str) -> list[str]:
        key = name_key(name)
        rows = self._con.execute(
            "SELECT DISTINCT ingredient_id FROM names WHERE key = ? ORDER BY ingredient_id", (key,)
        ).fetchall()
        if not rows:  # "interferon beta 1a" = "interferon beta-1a" = "interferonbeta1a"
            rows = self._con.execute(
                "SELECT DISTINCT ingredient_id FROM names WHERE compact = ? ORDER BY ingredient_id",
                (key.replace(" ", ""),),
            ).fetchall()
        return [r[0] for r in rows]

    def _ids_for_atc(self, code: str) -> list[str]:
        code = code.strip().upper()
        if not _ATC_ANY.match(code):
            return []
        if ATC_LEVEL5.match(code):
            sql, arg = "SELECT ingredient_id FROM atc WHERE code = ?", code
        else:
            sql, arg = "SELECT DISTINCT ingredient_id FROM atc WHERE code LIKE ?", code + "%"
        return sorted(r[0] for r in self._con.execute(sql, (arg,)))

    def record(self, ingredient_id: str) -> DrugRecord:
        """The compiled record (cached: records are immutable, and parsing one costs ~1 ms)."""
        cached = self._records.get(ingredient_id)
        if cached is not None:
            return cached
        row = self._con.execute(
            "SELECT json FROM ingredients WHERE id = ?", (ingredient_id,)
        ).fetchone()
        if row is None:
            raise UnknownDrugError(ingredient_id, self.suggest(ingredient_id))
        rec = DrugRecord.model_validate_json(row[0])
        self._records[ingredient_id] = rec
        return rec

    def preload(self) -> None:
        """Parse every record now (processes forked afterwards, such as batch workers, then
        share them instead of each parsing its own copies)."""
        for (iid,) in self._con.execute("SELECT id FROM ingredients").fetchall():
            self.record(iid)

    def get(self, name_or_code: str) -> DrugRecord:
        """The ingredient any of whose names (or whose level-5 ATC code) is ``name_or_code``."""
        ids = self._ids_for_name(name_or_code)
        code = name_key(name_or_code).upper().replace(" ", "")
        if not ids and ATC_LEVEL5.match(code):
            ids = self._ids_for_atc(code)
        if len(ids) == 1:
            return self.record(ids[0])
        combo = self._con.execute(
            "SELECT ingredients, others FROM combinations WHERE key = ?", (name_key(name_or_code),)
        ).fetchone()
        if combo:  # a combination or regimen: say which drugs, let the caller choose
            drugs = [self._inn(i) for i in combo[0].split(",") if i]
            raise UnknownDrugError(name_or_code, drugs + [o for o in combo[1].split(",") if o])
        if len(ids) > 1:
            raise UnknownDrugError(name_or_code, [self._inn(i) for i in ids])
        raise UnknownDrugError(name_or_code, self.suggest(name_or_code))

    def _inn(self, ingredient_id: str) -> str:
        row = self._con.execute("SELECT inn FROM ingredients WHERE id = ?", (ingredient_id,))
        found = row.fetchone()
        return str(found[0]) if found else ingredient_id

    @cached_property
    def _name_keys(self) -> dict[str, str]:
        rows = self._con.execute("SELECT key, ingredient_id FROM names ORDER BY key")
        return {k: i for k, i in rows}

    def suggest(self, text: str, limit: int = 5) -> list[str]:
        """Close names (edit distance and sound), best first, as ingredient INNs."""
        from rapidfuzz import fuzz, process

        key = name_key(text)
        if not key:
            return []
        hits = process.extract(
            key, list(self._name_keys), scorer=fuzz.WRatio, limit=limit * 4, score_cutoff=80
        )
        out: list[str] = []
        for match, _score, _ in hits:
            inn = self._inn(self._name_keys[match])
            if inn not in out:
                out.append(inn)
        return out[:limit]

    def search(self, text: str, limit: int = 20) -> list[DrugSummary]:
        """Names that start with, contain or resemble ``text``; best first."""
        key = name_key(text)
        if not key:
            return []
        found: dict[str, str] = {}
        words = " ".join(f'"{w}"*' for w in key.split())
        try:
            rows = self._con.execute(
                "SELECT name, ingredient_id FROM names_fts WHERE names_fts MATCH ? "
                "ORDER BY rank LIMIT ?",
                (words, limit * 3),
            ).fetchall()
        except sqlite3.OperationalError:
            rows = []
        for name, iid in rows:
            found.setdefault(iid, name)
        for iid in self._ids_for_atc(text):
            found.setdefault(iid, text.upper())
        if len(found) < limit:
            for inn in self.suggest(text, limit):
                for iid in self._ids_for_name(inn):
                    found.setdefault(iid, inn)
        return [s for s in (self._summary(i, m) for i, m in found.items()) if s][:limit]

    def _summary(self, iid: str, matched: str | None = None) -> DrugSummary | None:
        row = self._con.execute(
            "SELECT id, inn, direction, class_id, type_id FROM ingredients WHERE id = ?", (iid,)
        ).fetchone()
        if row is None:
            return None
        iid_, inn, direction, class_id, type_id = row
        return DrugSummary(iid_, inn, direction, class_id, type_id, matched)

    def by_class(self, name: str) -> list[DrugSummary]:
        """Members of a direction, class, type or teaching group (id or name, any case)."""
        key = name_key(name)
        rows = self._con.execute(
            "SELECT DISTINCT i.id FROM ingredients i JOIN memberships m ON m.ingredient_id = i.id "
            "WHERE lower(m.class_id) = ? OR lower(m.type_id) = ? OR i.direction = ? "
            "ORDER BY i.id",
            (key.replace(" ", "-"), key.replace(" ", "-"), key),
        ).fetchall()
        ids = [r[0] for r in rows]
        if not ids:
            for cid, cls in self.classes().items():
                names = {cls.name, cls.plain_name or "", cls.teaching_group}
                if key in {name_key(n) for n in names if n}:
                    ids += [s.id for s in self.by_class(cid)]
                for tid, typ in cls.types.items():
                    if key in {name_key(typ.name), name_key(typ.plain_name or "")}:
                        ids += [s.id for s in self.by_class(tid)]
        return [s for s in (self._summary(i) for i in dict.fromkeys(ids)) if s]

    def condition(self, text: str) -> Condition:
        """The condition named ``text`` (id, name or synonym; close misspellings accepted)."""
        key = name_key(text)
        row = self._con.execute(
            "SELECT condition_id FROM condition_names WHERE key = ? ORDER BY condition_id",
            (key,),
        ).fetchone()
        if row is None:
            from rapidfuzz import fuzz, process

            keys = [r[0] for r in self._con.execute("SELECT key FROM condition_names")]
            hit = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=88)
            if hit is None:
                close = process.extract(key, keys, scorer=fuzz.WRatio, limit=5, score_cutoff=70)
                names = []
                for k, _, _ in close:
                    cond = self._condition_for_key(k)
                    if cond.name not in names:
                        names.append(cond.name)
                raise UnknownConditionError(text, names)
            return self._condition_for_key(hit[0])
        return self._condition_by_id(row[0])

    def _condition_for_key(self, key: str) -> Condition:
        row = self._con.execute(
            "SELECT condition_id FROM condition_names WHERE key = ?", (key,)
        ).fetchone()
        return self._condition_by_id(row[0])

    def _condition_by_id(self, cid: str) -> Condition:
        row = self._con.execute("SELECT json FROM conditions WHERE id = ?", (cid,)).fetchone()
        return Condition.model_validate_json(row[0])

    def for_condition(self, text: str) -> tuple[Condition, list[DrugSummary]]:
        """The condition and the ingredients whose indications include it."""
        cond = self.condition(text)
        rows = self._con.execute(
            "SELECT ingredient_id FROM indications WHERE condition_id = ? ORDER BY ingredient_id",
            (cond.id,),
        ).fetchall()
        return cond, [s for s in (self._summary(r[0]) for r in rows) if s]

    # --- whole-base views ----------------------------------------------------------------

    def classes(self) -> dict[str, TaxonClass]:
        return dict(self._classes)

    @cached_property
    def _classes(self) -> dict[str, TaxonClass]:
        rows = self._con.execute("SELECT id, json FROM classes ORDER BY id")
        return {cid: TaxonClass.model_validate_json(js) for cid, js in rows}

    def taxonomy_extras(self) -> dict[str, Any]:
        row = self._con.execute("SELECT value FROM meta WHERE key = 'taxonomy'").fetchone()
        return dict(json.loads(row[0]))

    def sources(self) -> dict[str, Source]:
        return dict(self._sources)

    @cached_property
    def _sources(self) -> dict[str, Source]:
        # Parsed once per store: 700 sources take ~5 ms to parse, and cards and pages ask often.
        rows = self._con.execute("SELECT id, json FROM sources ORDER BY id")
        return {sid: Source.model_validate_json(js) for sid, js in rows}

    def all_summaries(self) -> list[DrugSummary]:
        rows = self._con.execute("SELECT id FROM ingredients ORDER BY id").fetchall()
        return [s for s in (self._summary(r[0]) for r in rows) if s]

    def coverage(self, part: int | None = None, group: str | None = None) -> dict[str, Any]:
        """Scope codes present and unexplained field gaps (see :mod:`.coverage`)."""
        from immunomod.knowledge.coverage import coverage

        scope = [
            ScopeCode.model_validate_json(js)
            for (js,) in self._con.execute("SELECT json FROM scope ORDER BY code")
        ]
        owner = dict(self._con.execute("SELECT code, min(ingredient_id) FROM atc GROUP BY code"))
        records = [self.record(s.id) for s in self.all_summaries()]
        return coverage(scope, owner, records, part=part, group=group)

    def stats(self) -> dict[str, Any]:
        row = self._con.execute("SELECT value FROM meta WHERE key = 'stats'").fetchone()
        return dict(json.loads(row[0]))
