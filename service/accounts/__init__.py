"""Users, roles, web sessions and personal API tokens."""
