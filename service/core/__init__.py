"""Shared plumbing: errors, the task outbox, pagination helpers."""
