"""The resolver as an executable specification: input text -> what it must answer.

Each table row is a case a real record produces (US RxNorm-style and UK dm+d-style product
strings, notes, typos); the tables were written from those naming conventions, not from the
resolver's output.
"""

from __future__ import annotations

import pytest

from immunomod.names import resolve


def only(text: str):  # type: ignore[no-untyped-def]
    res = resolve(text)
    assert res.error is None, res.error
    assert len(res.matches) == 1, [m.matched_text for m in res.matches]
    return res.matches[0]


@pytest.mark.parametrize(
    ("text", "ingredient"),
    [
        ("Humira", "adalimumab"),
        ("HUMIRA®", "adalimumab"),
        ("adalimumab 40 MG in 0.4 ML Prefilled Syringe [Humira]", "adalimumab"),
        ("predniSONE 5 MG Oral Tablet", "prednisone"),
        ("Prednisolone 5mg gastro-resistant tablets", "prednisolone"),
        ("methotrexate sodium 25 MG/ML Injectable Solution", "methotrexate"),
        ("Methotrexate 10mg/0.2ml solution for injection pre-filled syringes", "methotrexate"),
        ("hydroxychloroquine sulfate 200 MG Oral Tablet", "hydroxychloroquine"),
        ("cyclosporine", "ciclosporin"),
        ("Ciclosporin", "ciclosporin"),
        ("mycophenolate mofetil 500mg tablets", "mycophenolic-acid"),
        ("MTX", "methotrexate"),
        ("Keytruda 200 mg IV", "pembrolizumab"),
        ("interferon beta 1a", "interferon-beta-1a"),
        ("interferon beta-1a", "interferon-beta-1a"),
        # national brands (UK, US, German, Swiss, EU), each cited in sources/kb8-gaps.yaml
        ("Pevanti 5mg tablets", "prednisolone"),
        ("Millipred 5 mg", "prednisolone"),
        ("Puri-Nethol 50mg", "mercaptopurine"),
        ("PURINETHOL 50 MG tablet", "mercaptopurine"),
        ("Imurek 50 mg Filmtabletten", "azathioprine"),
        ("Quensyl 200 mg", "hydroxychloroquine"),
        ("Sandimmun Neoral 100 mg capsules", "ciclosporin"),
        # a brand without its release-form word (Entocort EC, Astagraf XL)
        ("Entocort 9mg OD", "budesonide"),
        ("Astagraf 5 mg once daily", "tacrolimus"),
        # an antibody conjugate without its conjugate's name
        ("certolizumab 200mg every 2 weeks", "certolizumab-pegol"),
        ("brentuximab 1.8 mg/kg q3w", "brentuximab-vedotin"),
        ("gemtuzumab ozogamikin", "gemtuzumab-ozogamicin"),  # the conjugate misspelt
    ],
)
def test_names_and_product_strings_resolve_uniquely(text: str, ingredient: str) -> None:
    m = only(text)
    assert (m.ingredient, m.status, m.immunomodulator) == (ingredient, "unique", True)
    assert text[m.span[0] : m.span[1]] == m.matched_text


@pytest.mark.parametrize(
    ("text", "ingredient"),
    [("metotrexate", "methotrexate"), ("adalimumub", "adalimumab"), ("siklosporin", "ciclosporin"),
     ("infliximib", "infliximab"), ("tocilizumba", "tocilizumab")],
)  # fmt: skip
def test_misspellings_are_resolved_but_flagged_for_review(text: str, ingredient: str) -> None:
    m = only(text)
    assert m.ingredient == ingredient
    assert m.status == "needs_review" and m.method in {"fuzzy", "phonetic"}
    assert 0.5 < m.confidence < 1.0


@pytest.mark.parametrize(
    "text", ["metformin", "bevacizumab", "denosumab 60 mg", "ibuprofen 400mg tds", "Epoetin alfa"]
)
def test_other_drugs_are_known_and_not_immunomodulators(text: str) -> None:
    m = only(text)
    assert m.status == "not_immunomodulator" and not m.immunomodulator


def test_unknown_biologic_is_not_linked_to_the_nearest_word() -> None:
    m = only("zorbalimab 300 mg every 4 weeks")
    assert (m.status, m.ingredient, m.method) == ("not_found", None, "pattern")


@pytest.mark.parametrize(
    ("text", "candidates"),
    [("pred 20mg od", {"prednisone", "prednisolone"}),
     # MPA: mycophenolic acid, medroxyprogesterone acetate (and a vasculitis, which is no drug)
     ("MPA 720mg bd", {"mycophenolic-acid", "medroxyprogesterone acetate"})],
)  # fmt: skip
def test_ambiguous_abbreviation_gives_candidates_not_a_guess(text: str, candidates: set) -> None:
    m = only(text)
    assert m.status == "ambiguous" and m.ingredient is None
    assert {c.ingredient for c in m.candidates} == candidates


@pytest.mark.parametrize(
    ("text", "route"),
    [("prednisolone eye drops", "ophthalmic"), ("Prednisolone acetate 1% eye drops", "ophthalmic"),
     ("hydrocortisone 1% cream", "topical"), ("tacrolimus 0.1% ointment", "topical"),
     ("budesonide nasal spray", "intranasal"),
     ("triamcinolone 40 mg intra-articular injection", "intra-articular"),
     # the stem of an eye-drop brand (Inflamase Forte) keeps the brand's route
     ("Inflamase 1 drop qds", "ophthalmic"),
     # US EHR product strings: a capital route code before a capital form code
     ("PREDNISOLONE ACETATE 1 % OP SUSP", "ophthalmic"),
     ("HYDROCORTISONE 2.5 % EX CREA", "topical"), ("BUDESONIDE 0.5 MG/2ML IN SUSP", "inhaled")],
)  # fmt: skip
def test_local_forms_are_reported_as_local(text: str, route: str) -> None:
    m = only(text)
    assert m.local is True and m.route == route


def test_systemic_forms_are_not_local() -> None:
    assert only("prednisolone 5mg tablets").local is False
    assert only("methylprednisolone 1 g IV").route == "iv"


def test_route_codes_count_only_before_a_form_code() -> None:
    # "in the morning", "IN AM", "IN MAY" are no inhaler: the steroid stays systemic
    for text in ("prednisolone 5 mg in the morning", "PREDNISONE 20 MG IN AM",
                 "STOPPED PREDNISONE IN MAY", "prednisolone acetate 1 % op susp"):  # fmt: skip
        m = only(text)
        want = text.endswith("susp")  # ... while a lower-case "op susp" is an eye drop
        assert m.local is want, text


@pytest.mark.parametrize("text", ["R-CHOP cycle 3", "on RCHOP", "r-chop"])
def test_a_regimen_acronym_names_each_of_its_drugs(text: str) -> None:
    # R-CHOP: rituximab, cyclophosphamide, doxorubicin, vincristine, prednisone (NCI PDQ)
    got = {(m.ingredient, m.immunomodulator) for m in resolve(text).matches}
    assert got == {("rituximab", True), ("cyclophosphamide", True), ("prednisone", True),
                   ("doxorubicin", False), ("vincristine", False)}  # fmt: skip
    classes = {m.ingredient: m.class_ for m in resolve(text).matches}
    assert classes["doxorubicin"] == "cytotoxic-chemotherapy"


def test_a_chemotherapy_regimen_with_none_of_ours_still_names_its_cytotoxics() -> None:
    # FOLFOX: folinic acid, fluorouracil, oxaliplatin (Cancer Care Ontario mFOLFOX6)
    got = {m.ingredient: m.class_ for m in resolve("FOLFOX cycle 4").matches}
    assert got == {"folinic acid": None, "fluorouracil": "cytotoxic-chemotherapy",
                   "oxaliplatin": "cytotoxic-chemotherapy"}  # fmt: skip
    assert {m.context for m in resolve("ABVD x6 completed 2019").matches} == {"stopped"}


def test_parts_of_one_product_share_its_local_form_but_not_across_and() -> None:
    res = resolve("BUDESONIDE-FORMOTEROL 160-4.5 MCG/ACT IN AERO")
    assert [(m.ingredient, m.local) for m in res.matches] == [
        ("budesonide", True),
        ("formoterol", True),
    ]
    res = resolve("prednisolone and mesalazine enema")  # the prednisolone may be tablets
    assert [(m.ingredient, m.local) for m in res.matches] == [
        ("prednisolone", False),
        ("mesalazine", True),
    ]


def test_steroid_esters_dropped_in_records_are_still_ordinary_drugs() -> None:
    # DrugBank lists beclomethasone dipropionate; records write "beclomethasone" (one edit
    # from nothing of ours, but it must not be left unknown or fuzzed onto betamethasone)
    m = only("beclomethasone 100 mcg inhaler")
    assert (m.ingredient, m.status) == ("beclomethasone dipropionate", "not_immunomodulator")


@pytest.mark.parametrize(
    ("text", "context"),
    [("no methotrexate", "negated"), ("stopped prednisone in May", "stopped"),
     ("prednisone stopped in May", "stopped"), ("allergic to sulfasalazine", "allergy"),
     ("plan to start adalimumab", "planned"), ("previously on leflunomide", "historical"),
     ("on methotrexate 15 mg weekly", "current"), ("patient declined methotrexate", "negated"),
     ("he refused azathioprine", "negated"),
     ("interrupted ustekinumab due to infection", "stopped"),
     ("tofacitinib withheld during admission", "stopped"),
     ("Tried and failed: etanercept", "historical")],
)  # fmt: skip
def test_context_of_a_mention(text: str, context: str) -> None:
    assert only(text).context == context


def test_note_with_several_drugs_gives_each_its_own_context_and_sig() -> None:
    res = resolve("Stopped prednisolone in May; continues MTX 20mg weekly and Humira 40mg eow.")
    got = [(m.ingredient, m.context) for m in res.matches]
    assert got == [("prednisolone", "stopped"), ("methotrexate", "current"),
                   ("adalimumab", "current")]  # fmt: skip
    mtx, ada = res.matches[1].sig, res.matches[2].sig
    assert mtx is not None and (mtx.dose, mtx.unit, mtx.amount_per_week) == (20, "mg", 20)
    assert ada is not None and (ada.dose, ada.amount_per_week) == (40, 20)


@pytest.mark.parametrize(
    "text",
    ["Was on etanercept until 2023, switched to adalimumab due to loss of response",
     "Previously on etanercept, changed to adalimumab"],
)  # fmt: skip
def test_a_switch_ends_the_historical_scope(text: str) -> None:
    contexts = {m.ingredient: m.context for m in resolve(text).matches}
    assert contexts == {"etanercept": "historical", "adalimumab": "current"}


def test_context_of_one_mention_does_not_leak_to_the_next() -> None:
    res = resolve("previously on leflunomide, now on methotrexate")
    assert [m.context for m in res.matches] == ["historical", "current"]


@pytest.mark.parametrize(
    ("text", "dose", "per_day", "per_week"),
    [("prednisone 20 mg daily", 20, 20, 140), ("prednisolone 5mg bd", 5, 10, 70),
     ("prednisolone 10mg tds", 10, 30, 210), ("MTX 15 mg weekly", 15, 15 / 7, 15),
     ("methotrexate 25mg once a week", 25, 25 / 7, 25),
     ("adalimumab 40 mg every other week", 40, 40 / 14, 20),
     ("Keytruda 200 mg q3w", 200, 200 / 21, 200 / 3),
     ("dexamethasone 4 mg qds", 4, 16, 112), ("prednisolone 30mg OD", 30, 30, 210),
     ("infliximab 5 mg/kg every 8 weeks", 5, 5 / 56, 5 / 8),
     ("IVIG 0.4 g/kg monthly", 0.4, 0.4 / 30.4375, 0.4 * 7 / 30.4375),
     # A strength before a tablet count is multiplied: under-reading it would under-call the
     # level (prednisone 2 x 20 mg is the IDSA 2013 high-level dose, not 20 mg).
     ("prednisone 20 mg tablets, take 2 daily", 40, 40, 280),
     ("prednisolone 5mg tablets take 8 tablets once daily", 40, 40, 280),
     ("prednisone 20mg tabs 2 tabs od", 40, 40, 280),
     ("MTX 2.5mg tab x6 weekly", 15, 15 / 7, 15),
     ("azathioprine 50 mg tablets take one and a half tablets daily", 75, 75, 525),
     ("methotrexate 2.5 mg tablets, 6 tablets weekly", 15, 15 / 7, 15),
     # ... unless the amount itself is written too, or the count is a duration.
     ("methotrexate 2.5 MG Oral Tablet take 6 tablets (15 mg) once a week", 15, 15 / 7, 15),
     ("prednisolone 5mg tablets daily x14 days", 5, 5, 35),
     ("prednisone 5 mg tablet daily", 5, 5, 35),
     # Thousands separators are not decimal commas: a 1 g pulse is 1,000 mg, not 1 mg.
     ("methylprednisolone 1,000 mg IV daily for 3 days", 1000, 1000, 7000),
     ("prednisolone 2,5 mg od", 2.5, 2.5, 17.5),
     ("Intron A 3 MU tiw", 3, 9 / 7, 9), ("natalizumab 300 mg IV q4 weeks", 300, 300 / 28, 75),
     # Doses split over the day add up (hydrocortisone 20 mg mane + 10 mg nocte is 30 mg/day).
     ("hydrocortisone 20mg mane 10mg nocte", 20, 30, 210),
     ("prednisolone 5 mg am 2.5 mg pm", 5, 7.5, 52.5),
     ("hydrocortisone 10 mg in the morning, 5 mg at lunchtime and 5 mg in the evening", 10, 20,
      140),
     # UK intervals: "every fortnight", hyphenated "8-weekly", "6-monthly".
     ("adalimumab 40 mg every fortnight", 40, 40 / 14, 20),
     ("infliximab 5 mg/kg 8-weekly", 5, 5 / 56, 5 / 8),
     ("rituximab 1 g 6-monthly", 1, 1 / (6 * 30.4375), 7 / (6 * 30.4375)),
     ("ocrelizumab 600mg IV 6 monthly", 600, 600 / (6 * 30.4375), 4200 / (6 * 30.4375)),
     ("infliximab 5mg/kg 8 weekly", 5, 5 / 56, 5 / 8),
     # UK dispensing labels and product names: the strength times the tablets counted
     ("Prednisolone 5mg e/c tablets - take 6 tablets once daily", 30, 30, 210),
     ("Azathioprine 25mg tablets - three to be taken daily", 75, 75, 525),
     ("Sulfasalazine EC 500mg 2 tablets twice daily", 1000, 2000, 14000),
     ("Dexamethasone 2mg tablets 4 tablets om", 8, 8, 56),
     ("folic acid 5mg six days a week", 5, 30 / 7, 30),
     # US shorthand: qwk, qow
     ("Enbrel 50mg SC qwk", 50, 50 / 7, 50), ("Actemra 162 mg SC qow", 162, 162 / 14, 81),
     # A strength per volume is not yet the dose: the amount stated later, or the volume
     # given (with how often) times the strength; a pen of 40 mg/0.4 mL is one 40 mg dose.
     ("Cosentyx 150 mg/mL pen: inject 300 mg SC q4wk", 300, 300 / 28, 75),
     ("prednisolone 5mg/5ml oral solution 10ml od", 10, 10, 70),
     ("methotrexate 25 mg/ml, 0.6 ml weekly", 15, 15 / 7, 15),
     ("Humira Pen 40 mg/0.4 mL SC q14d", 40, 40 / 14, 20),
     # a brand whose name ends in its strength: the number is also the dose
     ("Kenalog 40 mg IM monthly", 40, 40 / 30.4375, 280 / 30.4375),
     # Cycle days count: days 1 and 8 of a 21-day cycle are two doses per cycle; the days
     # 1-14 of a twice-daily course are not a cycle interval and stay as written.
     ("cyclophosphamide 750 mg/m2 on days 1 and 8 every 21 days", 750, 1500 / 21, 500),
     ("rituximab 1 g IV on day 1 and day 15 every 6 months", 1, 2 / (6 * 30.4375),
      14 / (6 * 30.4375)),
     ("dexamethasone 40 mg on days 1, 8, 15 and 22 every 28 days", 40, 160 / 28, 40),
     ("dexamethasone 20 mg on days 1-4 every 28 days", 20, 80 / 28, 20),
     ("capecitabine 1000 mg/m2 bd on days 1-14 every 21 days", 1000, 2000, 14000)],
)  # fmt: skip
def test_sig_amounts_per_day_and_week(
    text: str, dose: float, per_day: float, per_week: float
) -> None:
    sig = only(text).sig
    assert sig is not None and sig.dose == dose
    assert sig.amount_per_day == pytest.approx(per_day, rel=1e-4)
    assert sig.amount_per_week == pytest.approx(per_week, rel=1e-4)


def test_multi_step_sig_becomes_steps() -> None:
    sig = only("prednisolone 40 mg daily for 1 week, then 30 mg daily for 1 week, then stop").sig
    assert sig is not None
    assert [(s.dose, s.duration_days) for s in sig.steps] == [(40, 7), (30, 7)]


def test_taper_is_read() -> None:
    sig = only("prednisone 40 mg daily, reduce by 5 mg each week").sig
    assert sig is not None and sig.dose == 40
    assert sig.steps[-1].taper == "reduce by 5 mg every 1 week"


def test_an_amount_of_change_is_no_dose() -> None:
    # "by 2.5 mg" after the name is how much the dose changes, not the dose
    assert only("increase methotrexate by 2.5mg weekly").sig is None
    sig = only("consider tapering prednisolone by 1mg every month").sig
    assert sig is not None and sig.dose is None
    assert sig.steps[0].taper == "reduce by 1 mg every 1 month"


def test_a_taper_that_goes_on_without_its_verb_continues_from_where_it_ended() -> None:
    # "then by 1 mg every month" is a slower cut from the 10 mg floor, not "1 mg monthly"
    sig = only("prednisolone 40mg od, reduce by 5mg weekly to 10mg, then by 1mg monthly").sig
    assert sig is not None
    assert [(s.dose, s.frequency, s.taper) for s in sig.steps] == [
        (40, "od", "reduce by 5 mg every 1 week to 10 mg"),
        (10, "od", "reduce by 1 mg every 1 month"),
    ]
    # with no floor given, where the second cut starts from is unknown: no dose, no guess
    sig = only("prednisolone 10mg daily, reduce by 2.5mg every 2 weeks then by 1mg every month").sig
    assert sig is not None and [(s.dose, s.taper) for s in sig.steps] == [
        (10, "reduce by 2.5 mg every 2 week"),
        (None, "reduce by 1 mg every 1 month"),
    ]


@pytest.mark.parametrize(
    ("text", "days"),
    [("prednisolone 30mg od for 3 weeks", 21), ("prednisolone 40mg od x14 days", 14),
     ("prednisolone 30 mg od 5/7", 5)],
)  # fmt: skip
def test_durations(text: str, days: float) -> None:
    sig = only(text).sig
    assert sig is not None and sig.duration is not None
    from immunomod.names.sig import _duration

    parsed = _duration(sig.text)
    assert parsed is not None and parsed[1] == days


def test_prn() -> None:
    sig = only("hydrocortisone 10 mg prn").sig
    assert sig is not None and sig.prn


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("   ", "empty"), ("x" * 10_001, "limit is 10000"),
     ("metho\x00trexate", "control character")],
)  # fmt: skip
def test_bad_input_gets_a_clear_error(text: str, problem: str) -> None:
    res = resolve(text)
    assert res.error is not None and problem in res.error and res.matches == []


def test_nothing_found_gives_suggestions() -> None:
    res = resolve("adalimumabbbbbb")
    assert not res.matches or res.matches[0].status != "unique"


def test_a_tie_between_two_names_is_ambiguous_not_a_guess() -> None:
    m = only("prednssoone")  # two edits from prednisone and from prednisolone
    assert m.status == "ambiguous" and m.ingredient is None
    assert {c.ingredient for c in m.candidates} == {"prednisone", "prednisolone"}
