"""Scripts for developers and operators; importable by the tests.

They import the functions' packages by the names Lambda gives them (``lambdas/`` is the code root), so this
package puts that root on the import path first, whatever a script imports first (importing ``stacks`` does it).
"""

import stacks  # noqa: F401
