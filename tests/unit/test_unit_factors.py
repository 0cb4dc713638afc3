"""The stored per-period factors (names/unit_factors.toml) are pint's, and resolving never
imports pint (it would add ~0.2 s to the resolver's load time)."""

from __future__ import annotations

import subprocess
import sys

from immunomod.names.sig import MASS_OR_UNITS, PERIODS, _factors, pint_factors


def test_every_factor_is_pints() -> None:
    stored = _factors()
    expected = {
        f"{unit}/{per}": pint_factors(unit, per)
        for unit in MASS_OR_UNITS
        if "/" not in unit
        for per in PERIODS
    }
    assert stored == expected, "stale: run scripts/build_unit_factors.py"


def test_resolving_a_sig_does_not_import_pint() -> None:
    code = (
        "import sys; from immunomod.names import resolve; "
        "m = resolve('methotrexate 15 mg weekly, prednisolone 5 mg bd').matches; "
        "assert [x.sig.amount_per_week for x in m] == [15.0, 70.0], m; "
        "print('pint' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
