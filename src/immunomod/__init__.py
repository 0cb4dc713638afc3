"""immunomod: a cited knowledge base of immunomodulator medicines.

>>> from immunomod import kb
>>> kb.get("Humira").inn
'adalimumab'
"""

from immunomod import errors, kb

__version__ = "0.1.0"

__all__ = ["__version__", "errors", "kb"]
