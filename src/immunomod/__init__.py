"""immunomod: a cited knowledge base of immunomodulator medicines."""

__version__ = "0.1.0"
