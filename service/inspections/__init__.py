"""Canteen food-safety inspections and campus safety checks (自查 / 督查), and the canteen's monthly facts."""
