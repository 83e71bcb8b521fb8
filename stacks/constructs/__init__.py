"""Reusable constructs composed by the stacks."""
