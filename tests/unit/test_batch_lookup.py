"""The batch lookup row for a drug text (immunomod.batch.lookup) does not depend on letter case.

Batch jobs fold case before resolving (one product is spelt "PredniSONE 5 MG Oral Tablet" and
"prednisone 5 mg oral tablet" in the same table), which is only right if no answer changes with
case. This checks every labelled string of the resolver's development and held-out sets, alone
and with a dosing text, in its own case, in upper case and in lower case.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from immunomod.batch import lookup
from immunomod.batch.lookup import LOOKUP_COLUMNS, fields

DATA = Path(__file__).resolve().parent.parent / "data"


def _texts() -> list[str]:
    out: list[str] = []
    for name in ("resolver_dev.csv", "resolver_holdout.csv"):
        with (DATA / name).open(encoding="utf-8") as fh:
            out += [r["text"] for r in csv.DictReader(x for x in fh if not x.startswith("#"))]
    return out


@pytest.mark.parametrize("extra", ["", "Take 2 tablets Daily for 5 Days"])
def test_no_answer_depends_on_letter_case(extra: str) -> None:
    texts = _texts()
    assert len(texts) > 1000
    differ = []
    for text in texts:
        own = lookup._fields(text, extra)  # the cached resolver call, case not folded
        for variant in (text.upper(), text.lower()):
            other = lookup._fields(variant, extra.upper() if variant.isupper() else extra.lower())
            if other != own:
                differ.append((text, variant))
    assert differ == []


def _row(name: str, extra: str = "") -> dict[str, object]:
    return dict(zip(LOOKUP_COLUMNS, fields(name, extra), strict=True))


def test_upper_case_taper_is_expanded() -> None:
    # 30 mg/day, less 5 mg each week down to a 10 mg floor: 30, 25, 20, 15 a week each, then 10.
    row = _row("PRED 30MG OD, REDUCE BY 5MG EVERY WEEK TO 10MG")
    schedule = json.loads(str(row["im_schedule"]))
    assert schedule == [[7.0, 30.0], [7.0, 25.0], [7.0, 20.0], [7.0, 15.0], [None, 10.0]]


def test_a_monthly_taper_after_a_weekly_one_is_expanded() -> None:
    # 20 to 10 mg by 5 mg a week, then 1 mg a month (30.4375 days) from 10 mg to 8 mg.
    row = _row("prednisolone 20mg od, reduce by 5mg weekly to 10mg, then by 1mg monthly to 8mg")
    schedule = json.loads(str(row["im_schedule"]))
    month = 30.4375
    assert schedule == [[7.0, 20.0], [7.0, 15.0], [month, 10.0], [month, 9.0], [None, 8.0]]


def test_upper_case_duration_sets_the_course_length() -> None:
    row = _row("BUDESONIDE MMX 9MG OD FOR 8 WEEKS")
    assert json.loads(str(row["im_schedule"])) == [[56.0, 9.0]]
    assert row["im__sig_days"] == 56.0
