"""Custom-resource constructs and their handlers."""
