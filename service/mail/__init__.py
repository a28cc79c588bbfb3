"""Outgoing mail: messages (message.py), what kinds of notice exist and who renders them (kinds.py)."""
