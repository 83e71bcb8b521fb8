"""Benchmarks: scripts that measure the app and assert nothing (docs/benchmarks.md has the numbers).

Importing ``stacks`` puts the functions' code root on the import path, whatever a benchmark imports first.
"""

import stacks  # noqa: F401
