"""Scheduled notices (通报, report cards, reminders, digests) and their delivery exactly once."""
