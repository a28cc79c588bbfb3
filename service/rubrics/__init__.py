"""Versioned rubrics (评分细则): canteen inspection, campus safety check, logistics staff evaluation."""
