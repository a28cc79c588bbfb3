"""Bureau-editable rule settings: scoring and ranking weights, and commendation rules (versioned)."""
