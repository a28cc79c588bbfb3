"""Monthly reporting periods: deadlines, the lock after the deadline, and unlock requests."""
