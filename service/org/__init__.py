"""The organisation: the bureau, its clusters (片区) and its schools (the tenants)."""
