"""Brand names of ordinary drugs (scripts/derive_other_drugs.py), on small rows built here.

A brand becomes "a known drug that is not an immunomodulator" only when it cannot hide one;
each rule below is one way it could. The shared reference folder is never read.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from immunomod.names import resolve


def _load_script():
    scripts = Path(__file__).resolve().parents[2] / "scripts"
    sys.path.insert(0, str(scripts))
    spec = importlib.util.spec_from_file_location(
        "derive_other_drugs", scripts / "derive_other_drugs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dod = _load_script()

KNOWN = {  # DrugBank rows by key: (name, id, category, canonical)
    "apixaban": ("Apixaban", "DB06605", "", ""),
    "valsartan": ("Valsartan", "DB00177", "", ""),
    "amlodipine": ("Amlodipine", "DB00381", "", ""),
    "pemetrexed": ("Pemetrexed", "DB00642", "cytotoxic-chemotherapy", ""),
    "newmab": ("Newmab", "DB99999", "", ""),  # an immunosuppressant the KB lacks
}
ATC = {
    "DB06605": {"B01AF02"}, "DB00177": {"C09CA03"}, "DB00381": {"C08CA01"},
    "DB00642": {"L01BA04"}, "DB99999": {"L04AG99"},
}  # fmt: skip
CLAIMED = {"methotrexate", "adalimumab"}
SCOPE = ("L04", "H02AB", "L03")


def rows(*brands: tuple[str, list[str], set[str]], words: tuple[str, ...] = ()):
    return dod.brand_rows(list(brands), KNOWN, CLAIMED, ATC, SCOPE, set(words))


def test_a_brand_of_one_ordinary_drug_is_named_as_that_drug():
    assert rows(("Eliquis", ["apixaban"], set())) == {
        "eliquis": ("Eliquis", "DB06605", "", "Apixaban")
    }


def test_a_combination_brand_names_every_substance_and_keeps_chemotherapy():
    got = rows(("Copalia", ["amlodipine", "valsartan"], {"C09DB01"}),
               ("Alimta", ["pemetrexed"], set()))  # fmt: skip
    assert got["copalia"][3] == "Amlodipine / Valsartan"
    assert got["copalia"][1] == "DB00381|DB00177"
    assert got["alimta"][2] == "cytotoxic-chemotherapy"


@pytest.mark.parametrize(
    ("brand", "why"),
    [
        (("Humira", ["adalimumab"], set()), "the knowledge base claims the substance"),
        (("Trexall Plus", ["methotrexate", "apixaban"], set()), "one substance is ours"),
        (("Newmabra", ["newmab"], set()), "the substance's ATC code is an immunomodulator group"),
        (("Oddity", ["apixaban"], {"L04AA99"}), "the source's own ATC code is in scope"),
        (("Mystera", ["unknownium"], set()), "a substance that is not a known ordinary drug"),
        (("Apixaban", ["apixaban"], set()), "already a DrugBank name"),
        (("Adalimumab Brand", ["apixaban"], set()), "the name holds a name we claim"),
        (("Abc", ["apixaban"], set()), "too short to read safely"),
    ],
)
def test_brands_that_could_hide_an_immunomodulator_are_left_out(brand, why):
    assert rows(brand) == {}, why


def test_a_substance_with_no_atc_code_leaves_the_brand_unknown():
    known = KNOWN | {"novelase": ("Novelase", "DB88888", "", "")}
    got = dod.brand_rows([("Novelix", ["novelase"], set())], known, CLAIMED, ATC, SCOPE, set())
    assert got == {}


def test_english_words_and_names_given_to_two_drugs_are_left_out():
    assert rows(("Sonata", ["apixaban"], set()), words=("sonata",)) == {}
    assert rows(("Twinna", ["apixaban"], set()), ("Twinna", ["valsartan"], set())) == {}
    # the same drug twice (EU and US rows) is one brand, not a conflict
    assert "samea" in rows(("Samea", ["apixaban"], set()), ("SAMEA", ["apixaban"], set()))


@pytest.mark.parametrize(
    ("text", "ingredient"),
    [("Eliquis 5 mg bd", "apixaban"), ("Prolia 60mg every 6 months", "denosumab"),
     ("Epogen 4000 units three times weekly", "epoetin alfa"),
     # curated abbreviations (other_drugs_extra.tsv) are read even with 3 letters
     ("ASA 81mg daily", "aspirin"), ("KCl 20 mEq daily", "potassium chloride"),
     ("5-ASA 2.4g daily", "mesalazine")],  # 5-aminosalicylic acid is not aspirin
)  # fmt: skip
def test_the_package_reads_ordinary_drug_brands_as_their_substance(text, ingredient):
    (m,) = resolve(text).matches
    assert (m.ingredient, m.immunomodulator, m.status) == (ingredient, False, "not_immunomodulator")


@pytest.mark.parametrize(
    ("key", "base"),
    [("beclomethasone dipropionate", "beclomethasone"), ("mometasone furoate", "mometasone"),
     ("clobetasol propionate", "clobetasol"),
     ("sodium acetate", None), ("pentyl butyrate", None),  # not a steroid: no bare name
     ("beclomethasone", None), ("fluticasone propionate hfa", None)],
)  # fmt: skip
def test_a_steroid_ester_also_gives_the_bare_steroid(key, base):
    assert dod.steroid_base(key) == base
