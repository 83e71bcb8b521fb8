"""The CDK app: settings, stacks and the constructs they compose.

Constructs import each function's contract (``lambdas/<function>/contract.py``) by the name the
Lambda runtime gives it, with ``lambdas/`` as the code root, so both sides share one definition.
Importing this package puts that root on the import path, for ``cdk``, the scripts and the tests alike.
"""

import sys
from pathlib import Path

FUNCTION_CODE_ROOT = Path(__file__).resolve().parent.parent / "lambdas"
if str(FUNCTION_CODE_ROOT) not in sys.path:
    sys.path.append(str(FUNCTION_CODE_ROOT))
