"""Batch: classify drug-exposure tables (DuckDB on one machine)."""
