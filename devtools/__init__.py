"""Development helpers shared by the tests, the scripts and the benchmarks (never deployed).

They drive the functions, whose packages import by the names Lambda gives them (``lambdas/`` is the
code root); importing ``stacks`` puts that root on the import path, in one place for every tool.
"""

import stacks  # noqa: F401
