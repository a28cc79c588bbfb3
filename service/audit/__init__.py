"""The audit trail: who changed which record when, with the values before and after."""
