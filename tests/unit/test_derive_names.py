"""The pure functions of scripts/derive_names.py, on small rows built here.

The shared reference folder is never read: CI runs without it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml


def _load_script() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "derive_names.py"
    spec = importlib.util.spec_from_file_location("derive_names", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["derive_names"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


dn = _load_script()


def ing(iid: str, inn: str | None = None, **names: Any) -> Any:
    data: dict[str, Any] = {"id": iid, "inn": inn or iid.replace("-", " ")}
    if names:
        data["names"] = names
    return dn.ingredient_from_data(data, iid)


def purple_row(**kw: str) -> dict[str, str]:
    row = {
        "Applicant": "X",
        "BLA Number": "125057",
        "Proprietary Name": "Humira",
        "Proper Name": "adalimumab",
        "BLA Type": "351(a)",
        "Route of Administration": "Subcutaneous",
        "Marketing Status": "Rx",
        "Licensure": "Licensed",
        "Approval Date": "31-Dec-02",
        "Ref. Product Proper Name": "",
        "Date of First Licensure": "",
    }
    row.update(kw)
    return row


def product(appl: str, prod: str, name: str, active: str, form: str = "TABLET;ORAL") -> dict:
    return {
        "ApplNo": appl,
        "ProductNo": prod,
        "Form": form,
        "DrugName": name,
        "ActiveIngredient": active,
    }


def ema_row(name: str, inn: str, **kw: str) -> dict[str, str]:
    row = {
        "Category": "Human",
        "Name of medicine": name,
        "Medicine status": "Authorised",
        dn._EMA_INN: inn,
        "Active substance": inn,
        "Biosimilar": "No",
        "Generic or hybrid": "No",
        "Marketing authorisation date": "08/09/2003",
        "European Commission decision date": "11/07/2024",
    }
    row.update(kw)
    return row


def db_row(dbid: str, name: str, synonyms: str) -> dict[str, str]:
    return {"DrugBank ID": dbid, "Common name": name, "Synonyms": synonyms}


@pytest.fixture
def matcher() -> Any:
    return dn.Matcher(
        [
            ing("adalimumab"),
            ing("ciclosporin"),
            ing("methotrexate", salts=["methotrexate sodium"]),
            ing("mycophenolic-acid"),
            ing("rituximab"),
            ing("prednisolone"),
        ],
        aliases={"mycophenolate mofetil": "mycophenolic acid", "cyclosporine": "ciclosporin"},
    )


# --- Purple Book ----------------------------------------------------------------------------


def test_brand_from_purple_book_351a(matcher: Any) -> None:
    rows = [
        purple_row(),
        purple_row(**{"Marketing Status": "Disc*", "Approval Date": "21-Feb-08"}),
        purple_row(**{"Proprietary Name": "Adalimumab"}),  # unbranded: the generic name
    ]
    res = dn.purple_book(rows, matcher)
    brands = dn.merge_brands(res.brands["adalimumab"])
    assert brands == [
        {
            "name": "Humira",
            "markets": ["US"],
            "originator": True,
            "discontinued": False,  # one presentation is discontinued, the brand is not
            "routes": ["sc"],
            "sources": ["fda-purple-book"],
            "confidence": "high",
        }
    ]
    reg = res.regulatory["adalimumab"]
    assert (reg["agency"], reg["status"], reg["year"]) == ("FDA", "approved", 2002)
    assert res.bla_types[125057] == "351(a)"


def test_purple_book_first_licensure_column_wins_over_approval_date(matcher: Any) -> None:
    row = purple_row(**{"Date of First Licensure": "26-Nov-97", "Approval Date": "1-Jan-03"})
    row.update({"Proprietary Name": "Rituxan", "Proper Name": "rituximab"})
    assert dn.purple_book([row], matcher).regulatory["rituximab"]["year"] == 1997


def test_biosimilar_with_suffix_and_interchangeable_flag(matcher: Any) -> None:
    k = {"Ref. Product Proper Name": "adalimumab", "Ref. Product Proprietary Name": "Humira"}
    rows = [
        purple_row(
            **k,
            **{
                "BLA Number": "761024",
                "Proprietary Name": "Amjevita",
                "Proper Name": "adalimumab-atto",
                "BLA Type": "351(k) Biosimilar",
            },
        ),
        purple_row(
            **k,
            **{
                "BLA Number": "761024",
                "Proprietary Name": "Amjevita",
                "Proper Name": "adalimumab-atto",
                "BLA Type": "351(k) Interchangeable",
            },
        ),
        purple_row(
            **k,
            **{
                "BLA Number": "761216",
                "Proprietary Name": "YUSIMRY",
                "Proper Name": "adalimumab-aqvh",
                "BLA Type": "351(k) Biosimilar",
            },
        ),
    ]
    res = dn.purple_book(rows, matcher)
    assert res.brands == {}  # biosimilars are never originator brands
    assert res.biosimilars["adalimumab"] == [
        {
            "proper_name": "adalimumab-aqvh",
            "brands": ["Yusimry"],
            "markets": ["US"],
            "interchangeable": False,
            "sources": ["fda-purple-book"],
            "confidence": "high",
        },
        {
            "proper_name": "adalimumab-atto",
            "brands": ["Amjevita"],
            "markets": ["US"],
            "interchangeable": True,
            "sources": ["fda-purple-book"],
            "confidence": "high",
        },
    ]
    assert res.bla_types[761024] == "351(k)"


def test_purple_book_hyaluronidase_coformulation_is_a_brand_of_the_antibody(
    matcher: Any,
) -> None:
    row = purple_row(
        **{"Proprietary Name": "Rituxan Hycela", "Proper Name": "rituximab and hyaluronidase human"}
    )
    brands = dn.purple_book([row], matcher).brands["rituximab"]
    assert [b.name for b in brands] == ["Rituxan Hycela"]


# --- Drugs@FDA ------------------------------------------------------------------------------


def test_drugsatfda_keeps_branded_generics_skips_generic_names_and_combinations(
    matcher: Any,
) -> None:
    products = [
        product("050715", "001", "NEORAL", "CYCLOSPORINE", "CAPSULE;ORAL"),
        product("050790", "001", "RESTASIS", "CYCLOSPORINE", "EMULSION;OPHTHALMIC"),
        product("065017", "001", "CYCLOSPORINE", "CYCLOSPORINE", "CAPSULE;ORAL"),  # ANDA
        product("065003", "001", "GENGRAF", "CYCLOSPORINE", "CAPSULE;ORAL"),  # ANDA brand
        product("011719", "001", "METHOTREXATE SODIUM", "METHOTREXATE SODIUM"),  # generic name
        product("210737", "001", "XATMEP", "METHOTREXATE SODIUM", "SOLUTION;ORAL"),
        product("010210", "001", "METIMYD", "PREDNISOLONE ACETATE; SULFACETAMIDE SODIUM"),
        product("999999", "001", "ORPHAN", "CYCLOSPORINE"),  # no Applications row
    ]
    applications = [
        {"ApplNo": "050715", "ApplType": "NDA"},
        {"ApplNo": "050790", "ApplType": "NDA"},
        {"ApplNo": "065017", "ApplType": "ANDA"},
        {"ApplNo": "065003", "ApplType": "ANDA"},
        {"ApplNo": "011719", "ApplType": "NDA"},
        {"ApplNo": "210737", "ApplType": "NDA"},
        {"ApplNo": "010210", "ApplType": "NDA"},
    ]
    marketing = [
        {"MarketingStatusID": "1", "ApplNo": "050715", "ProductNo": "001"},
        {"MarketingStatusID": "3", "ApplNo": "050790", "ProductNo": "001"},
    ]
    out = dn.drugsatfda_brands(products, applications, marketing, matcher)
    assert sorted(out) == ["ciclosporin", "methotrexate"]
    got = {(b.name, b.discontinued, b.routes, b.originator) for b in out["ciclosporin"]}
    assert got == {
        ("Neoral", False, ("oral",), True),
        ("Restasis", True, ("ophthalmic",), True),
        ("Gengraf", False, ("oral",), False),  # an ANDA under its own brand name
    }
    assert [b.name for b in out["methotrexate"]] == ["Xatmep"]
    assert all(b.source == "fda-drugsatfda" and b.market == "US" for b in out["ciclosporin"])


def test_drugsatfda_biosimilar_bla_is_skipped_unless_listed_as_351a(matcher: Any) -> None:
    products = [
        product("761024", "001", "AMJEVITA", "ADALIMUMAB-ATTO", "INJECTABLE;INJECTION"),
        product("761400", "001", "NEWMAB", "ADALIMUMAB-ZZZZ", "INJECTABLE;SUBCUTANEOUS"),
    ]
    applications = [
        {"ApplNo": "761024", "ApplType": "BLA"},
        {"ApplNo": "761400", "ApplType": "BLA"},
    ]
    out = dn.drugsatfda_brands(
        products, applications, [], matcher, bla_types={761024: "351(k)", 761400: "351(a)"}
    )
    assert [(b.name, b.routes) for b in out["adalimumab"]] == [("Newmab", ("sc",))]


def test_drugsatfda_status_ids_come_from_the_lookup() -> None:
    lookup = [
        {"MarketingStatusID": "1", "MarketingStatusDescription": "Prescription"},
        {"MarketingStatusID": "3", "MarketingStatusDescription": "Discontinued"},
    ]
    assert dn.status_ids(lookup, "Discontinued") == {"3"}


# --- Routes, dates, names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "routes"),
    [
        ("TABLET;ORAL", ["oral"]),
        ("CAPSULE; ORAL", ["oral"]),
        ("TABLET, FILM COATED", ["oral"]),
        ("INJECTABLE;INJECTION", []),  # iv or sc? unclear, so no route
        ("INJECTABLE; IV (INFUSION)", ["iv"]),
        ("SOLUTION;SUBCUTANEOUS", ["sc"]),
        ("SOLUTION/DROPS;OPHTHALMIC", ["ophthalmic"]),
        ("CREAM;TOPICAL", ["topical"]),
        ("AEROSOL, METERED;INHALATION", ["inhaled"]),
        ("SPRAY, METERED;NASAL", ["intranasal"]),
        ("ENEMA;RECTAL", ["rectal"]),
        ("SOLUTION/DROPS;OPHTHALMIC, OTIC", ["ophthalmic", "otic"]),
        ("INJECTABLE;INTRA-ARTICULAR, INTRAMUSCULAR", ["im", "intra-articular"]),
        ("IMPLANT;INTRAVITREAL", ["ophthalmic"]),
        ("TABLET;VAGINAL", []),
        ("VIAL", []),
    ],
)  # fmt: skip
def test_form_route_mapping(form: str, routes: list[str]) -> None:
    assert dn.form_routes(form) == routes
    assert set(routes) <= set(dn.ROUTES.values())


def test_purple_book_route_mapping() -> None:
    assert dn.purple_routes("Intravenous, Subcutaneous") == ["iv", "sc"]
    assert dn.purple_routes("Intravesical") == ["intravesical"]
    assert dn.purple_routes("Percutaneous") == []


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("31-Dec-02", 2002),
        ("14-Feb-25", 2025),
        ("1-Jan-26", 1926),
        ("15-Jan-74", 1974),
        ("8-Jul-99", 1999),
        ("", None),
        ("N/A", None),
    ],
)
def test_two_digit_year_century_rule(text: str, year: int | None) -> None:
    got = dn.parse_purple_date(text)
    assert (got.year if got else None) == year


def test_ema_dates_are_day_first() -> None:
    assert dn.parse_dmy("08/09/2003").isoformat() == "2003-09-08"
    assert dn.parse_dmy("") is None


def test_title_case_and_brand_cleaning() -> None:
    assert dn.title_case("RESTASIS MULTIDOSE") == "Restasis Multidose"
    assert dn.title_case("DEPO-MEDROL") == "Depo-Medrol"
    assert dn.title_case("ASACOL HD") == "Asacol HD"
    assert dn.title_case("DECADRON-LA") == "Decadron-LA"
    assert dn.display_name("CellCept") == "CellCept"
    assert dn.clean_brand("CYTOXAN (LYOPHILIZED)") == "CYTOXAN"
    assert dn.clean_brand("CORTEF ACETATE", strip_salt_words=True) == "CORTEF"
    assert dn.ema_names("Rituzena (previously Tuxella)") == ["Rituzena", "Tuxella"]
    assert dn.split_proprietary("Bayrab, Hyperrab") == ["Bayrab", "Hyperrab"]


def test_matcher_spelling_salts_aliases_and_ambiguity(matcher: Any) -> None:
    assert matcher.match("CYCLOSPORINE") == "ciclosporin"
    assert matcher.match("Ciclosporin") == "ciclosporin"
    assert matcher.match("METHOTREXATE SODIUM") == "methotrexate"
    assert matcher.match("MYCOPHENOLATE MOFETIL HYDROCHLORIDE") == "mycophenolic-acid"
    assert matcher.match("methylprednisolone") is None  # whole names only
    assert matcher.match("cyclosporine", max_level="exact") is None
    twice = dn.Matcher([ing("a-mab", "amab"), ing("b-mab", "bmab", synonyms=["amab"])])
    assert twice.match("AMAB") is None
    assert twice.ambiguous == {"AMAB": ("a-mab", "b-mab")}


def test_alias_only_applies_to_the_ingredient_with_that_inn() -> None:
    m = dn.Matcher(
        [ing("bcg", "BCG, intravesical", synonyms=["BCG live"])],
        aliases={"BCG live": "bcg vaccine", "tice bcg": "bcg vaccine"},
    )
    assert m.match("BCG Live") == "bcg"
    assert m.match("BCG Vaccine") is None  # the TB vaccine is not this entry


def test_is_generic_name() -> None:
    keys = {"methotrexate"}
    assert dn.is_generic_name("METHOTREXATE SODIUM PRESERVATIVE FREE", keys)
    assert dn.is_generic_name("Methotrexate", keys)
    assert not dn.is_generic_name("Otrexup", keys)


# --- DrugBank synonyms ----------------------------------------------------------------------


def test_synonym_filtering() -> None:
    synonyms = [
        "Ciclosporin",  # the INN itself
        "Ciclosporina",  # other-language INN form: kept
        "Cyclosporine",  # US name: kept
        "Cyclosporin A",
        "CsA",  # shorter than 4 characters
        "123456",  # a number
        "D2E7",  # development code
        "CP-690550",  # development code
        "4-amino-10-methylfolic acid",  # chemical name
        "Cyclosporine (genetical recombination)",  # brackets
        "Ciclosporin-atto",  # biosimilar suffix name
        "Ciclosporin sodium",  # salt form
        "recombinant human ciclosporin",  # description
        "CICLO",  # capital abbreviation
        "Voclosporin",  # another ingredient's name
        "柳氮磺吡啶",  # non-Latin script
        "Cyclosporine",  # duplicate
    ]
    syns, codes = dn.split_synonyms(synonyms, "ciclosporin", foreign={"voclosporin"})
    assert syns == ["ciclosporina", "cyclosporin A", "cyclosporine"]
    assert codes == ["CP-690550", "D2E7"]


def test_suffixed_351a_proper_name_is_kept_as_a_synonym() -> None:
    kept = dn.classify_synonym(
        "tildrakizumab-asmn", "tildrakizumab", keep_suffixed={"tildrakizumab asmn"}
    )
    dropped = dn.classify_synonym("adalimumab-atto", "adalimumab")
    assert kept[0] == "synonym"
    assert dropped == ("drop", "biosimilar suffix name (from the Purple Book instead)")
    assert dn.classify_synonym("Adalimumab beta", "adalimumab")[0] == "synonym"
    assert dn.classify_synonym("bevacizumab awwb", "bevacizumab")[0] == "drop"


def test_drugbank_row_choice_and_foreign_names() -> None:
    m = dn.Matcher([ing("ciclosporin"), ing("voclosporin")])
    rows = [
        db_row("DB1", "Cyclosporine", "Ciclosporina | Voclosporin | Sandimmun | Cyclosporine"),
        db_row("DB2", "Voclosporin", "Voclosporina"),
        db_row("DB3", "Sandimmun", ""),
    ]
    out = dn.drugbank_names(rows, m)
    assert out["ciclosporin"] == {"synonyms": ["ciclosporina", "cyclosporine"], "codes": []}
    assert out["voclosporin"] == {"synonyms": ["voclosporina"], "codes": []}


# --- EMA ------------------------------------------------------------------------------------


def test_ema_brands_biosimilars_and_first_authorisation(matcher: Any) -> None:
    rows = [
        ema_row("Humira", "adalimumab"),
        ema_row(
            "Trudexa",
            "adalimumab",
            **{"Medicine status": "Withdrawn", "Marketing authorisation date": "01/09/2003"},
        ),
        ema_row("Amgevita", "adalimumab", Biosimilar="Yes"),
        ema_row("Solymbic", "adalimumab", Biosimilar="Yes", **{"Medicine status": "Withdrawn"}),
        ema_row("Fyzoclad", "adalimumab", **{"Medicine status": "Application withdrawn"}),
        ema_row("Refusio", "adalimumab", **{"Medicine status": "Refused"}),
        ema_row("Adalimumab Generica", "adalimumab", **{"Generic or hybrid": "Yes"}),
        ema_row("Steqeyma", "adalimumab"),  # flag missing, but a US 351(k) brand
        ema_row("Vetmab", "adalimumab", Category="Veterinary"),
    ]
    res = dn.ema_medicines(rows, matcher, biosimilar_names={"adalimumab": {"steqeyma"}})
    brands = dn.merge_brands(res.brands["adalimumab"])
    assert [(b["name"], b["markets"], b["discontinued"]) for b in brands] == [
        ("Humira", ["EU"], False),
        ("Trudexa", ["EU"], True),
    ]
    assert [(b["brands"], "note" in b) for b in res.biosimilars["adalimumab"]] == [
        (["Amgevita", "Steqeyma"], False),
        (["Solymbic"], True),
    ]
    reg = res.regulatory["adalimumab"]
    assert (reg["agency"], reg["status"], reg["year"]) == ("EMA", "approved", 2003)


# --- Merging, conflicts, output -------------------------------------------------------------


def test_merge_brands_unions_markets_and_routes() -> None:
    obs = [
        dn.BrandObs("Humira", "US", "fda-purple-book", False, ("sc",)),
        dn.BrandObs("Humira", "US", "fda-drugsatfda", True, ()),
        dn.BrandObs("HUMIRA", "EU", "ema-medicines", True),
        dn.BrandObs("Cellcept", "US", "fda-drugsatfda", True, ("oral",)),
        dn.BrandObs("CellCept", "EU", "ema-medicines", True),
    ]
    cellcept, humira = dn.merge_brands(obs)
    assert cellcept["name"] == "CellCept"  # EMA spelling preferred
    assert cellcept["discontinued"] and "note" not in cellcept
    assert humira["markets"] == ["EU", "US"]
    assert humira["routes"] == ["sc"]
    assert humira["sources"] == ["ema-medicines", "fda-drugsatfda", "fda-purple-book"]
    assert not humira["discontinued"]  # the Purple Book (newer) says it is marketed in the US
    assert humira["note"] == "discontinued in EU; marketed in US"


def test_brand_claimed_by_two_ingredients_is_left_out() -> None:
    ingredients = [ing("amab"), ing("bmab"), ing("cmab")]
    tables = dn.Tables(
        purple=[
            purple_row(**{"BLA Number": "1", "Proprietary Name": "Same", "Proper Name": "amab"}),
            purple_row(**{"BLA Number": "2", "Proprietary Name": "Same", "Proper Name": "bmab"}),
            purple_row(**{"BLA Number": "3", "Proprietary Name": "Bonly", "Proper Name": "bmab"}),
            purple_row(**{"BLA Number": "4", "Proprietary Name": "Cmab", "Proper Name": "cmab"}),
        ]
    )
    ingredients.append(ing("dmab", synonyms=["Bonly"]))  # a curated name of another drug
    records, conflicts, _ = dn.derive(ingredients, tables)
    assert sorted(conflicts) == ["bonly", "same"]
    assert "brands" not in records.get("amab", {})
    assert "brands" not in records["bmab"]
    assert "cmab" in records and "brands" not in records["cmab"]  # its own generic name


def test_dump_is_safe_yaml_with_header_and_stable() -> None:
    records = {
        "b": {"atc": {"codes": ["L04AB04"], "sources": ["who-atc-2026"], "confidence": "high"}},
        "a": {"regulatory": [{"agency": "FDA", "status": "approved", "year": 2002}]},
    }
    text = dn.dump(records)
    assert text.startswith(
        "# GENERATED by scripts/derive_names.py from ../shared/data — do not edit by hand.\n"
    )
    assert yaml.safe_load(text) == records
    assert list(yaml.safe_load(text)) == ["a", "b"]
    assert text == dn.dump(dict(reversed(list(records.items()))))
    assert "codes: [L04AB04]" in text


def test_derived_records_validate_against_the_schema(matcher: Any) -> None:
    from immunomod.knowledge.models import DerivedNames

    tables = dn.Tables(
        purple=[purple_row()],
        ema=[ema_row("Humira", "adalimumab"), ema_row("Amgevita", "adalimumab", Biosimilar="Yes")],
        atc=[
            {"atc_code": "L04AB04", "atc_name": "adalimumab"},
            {"atc_code": "L04AB", "atc_name": "Tumor necrosis factor alpha inhibitors"},
        ],
        drugbank=[
            db_row("DB00051", "Adalimumab", "Adalimumab | adalimumab-atto | D2E7 | Adalimumabum")
        ],
    )
    records, conflicts, _ = dn.derive(list(matcher.ingredients.values()), tables)
    assert conflicts == {}
    rec = records["adalimumab"]
    DerivedNames.model_validate(rec)
    assert rec["atc"]["codes"] == ["L04AB04"]
    assert rec["names"]["synonyms"] == ["adalimumabum"] and rec["names"]["codes"] == ["D2E7"]
    assert [b["name"] for b in rec["brands"]] == ["Humira"]
    assert [r["agency"] for r in rec["regulatory"]] == ["EMA", "FDA"]
