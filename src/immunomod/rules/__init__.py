"""The regimen checker: rule packs (data) applied by one small engine.

>>> from immunomod.rules import assess
>>> a = assess({"as_of": "2026-11-25", "patient": {"weight_kg": 70},
...             "medications": [{"text": "prednisone 20 mg daily", "start": "2026-10-01"}]})
>>> a.immunosuppression.level
'high'
"""

from __future__ import annotations

from immunomod.rules.engine import assess
from immunomod.rules.models import Assessment, AssessRequest

__all__ = ["AssessRequest", "Assessment", "assess"]
