"""Synthetic demo data: a small, realistic district (青山区) so a fresh install has something to show.

Everything here is invented - names, phone numbers, addresses - and deterministic for a given seed, so
screenshots, docs and tests can rely on the same schools and people appearing every time.
"""
