"""Scripts for developers and operators; importable by the tests."""
