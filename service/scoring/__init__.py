"""Scores of a school-month: area scores, composite, band (rubrics.md formulas 1-5), computed in SQL."""
