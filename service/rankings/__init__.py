"""District rankings: immutable snapshots per month, term and school year (rubrics.md formulas 6-7)."""
