"""District rankings: immutable snapshots per month, term and school year (rubrics.md formulas 6-7)."""

from service.rankings.subscribers import register as _register_subscribers

_register_subscribers()
