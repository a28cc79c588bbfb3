"""Celery jobs: thin wrappers that enter a tenant scope and call domain functions in ``service``."""
