"""Cold-start import time of every handler, as shipped: the synthesized code and layer assets.

    make synth && python -m benchmarks.cold_start [--repeat 5] [--assembly cdk.out]

Each handler is imported in a fresh interpreter that sees only what Lambda gives it: the function's
code asset, its layer asset and the standard library, plus the runtime's own AWS SDK (boto3 and its
dependencies, compiled to bytecode the way the Lambda runtime ships them). The assets are copied
read-only without any ``__pycache__`` and ``PYTHONDONTWRITEBYTECODE=1`` is set, so every import from
them compiles from source, as on a cold Lambda. The environment is the function's own, from the
template, with the variables Lambda sets (so tracing is on, as deployed).

The local interpreter is not the Lambda runtime's, so absolute times differ from Lambda's; the
numbers compare handlers and changes with each other. The script measures and prints; it asserts
nothing.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from devtools.lambda_platform import RUNTIME_PROVIDED_DISTRIBUTIONS

# Prints the import time, then the time the first invocation spends loading the SDK and making a client.
_PROBE = """
import importlib, sys, time
start = time.perf_counter()
importlib.import_module(sys.argv[1])
imported = time.perf_counter()
importlib.import_module("function_runtime.aws_clients").client("sqs")
print(imported - start, time.perf_counter() - imported)
"""


@dataclass(frozen=True)
class ShippedFunction:
    stack: str
    logical_id: str
    handler: str
    code: Path
    layers: tuple[Path, ...]
    environment: dict[str, str]

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]


def _asset_path(assembly: Path, resource: dict[str, Any]) -> Path | None:
    path = resource.get("Metadata", {}).get("aws:asset:path")
    return assembly / path if path else None


def _literal(value: Any) -> str:
    """Template values that CloudFormation resolves at deploy time become readable placeholders."""
    return value if isinstance(value, str) else f"deploy-time-{abs(hash(json.dumps(value, sort_keys=True)))}"


def shipped_functions(assembly: Path) -> Iterator[ShippedFunction]:
    """The app's Python functions: those whose layers are bundled directories with ``python/`` inside
    (CDK's own functions have no layer, or a pre-packaged zip)."""
    for template_path in sorted(assembly.glob("*.template.json")):
        resources = json.loads(template_path.read_text())["Resources"]
        for logical_id, resource in resources.items():
            properties = resource.get("Properties", {})
            if resource["Type"] != "AWS::Lambda::Function" or not properties.get("Layers"):
                continue
            layers = tuple(
                path
                for layer in properties["Layers"]
                if isinstance(layer, dict) and "Ref" in layer
                for path in [_asset_path(assembly, resources[layer["Ref"]])]
                if path is not None
            )
            code = _asset_path(assembly, resource)
            if code is None or not layers or not all((layer / "python").is_dir() for layer in layers):
                continue
            variables = properties.get("Environment", {}).get("Variables", {})
            yield ShippedFunction(
                stack=template_path.name.removesuffix(".template.json"),
                logical_id=logical_id,
                handler=properties["Handler"],
                code=code,
                layers=layers,
                environment={name: _literal(value) for name, value in variables.items()},
            )


def runtime_sdk(into: Path) -> Path:
    """The AWS SDK as the Lambda runtime has it: installed next to the standard library, with bytecode."""
    target = into / "runtime-sdk"
    for distribution in sorted(RUNTIME_PROVIDED_DISTRIBUTIONS):
        files = metadata.distribution(distribution).files or []
        for file in files:
            source = Path(str(file.locate()))
            if source.suffix == ".pyc" or not source.is_file() or ".dist-info" in str(file):
                continue
            destination = target / file
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    compileall.compile_dir(target, quiet=1)
    return target


def read_only_copy(source: Path, into: Path) -> Path:
    target = into / source.name
    if not target.exists():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for path in target.rglob("*"):
            path.chmod(0o555 if path.is_dir() else 0o444)
        target.chmod(0o555)
    return target


class ForeignArchitecture(RuntimeError):
    """A layer holds compiled code for Lambda's arm64, which this machine cannot load."""


def cold_start_seconds(
    function: ShippedFunction, search_path: list[Path], function_name: str, trace_aws_calls: bool
) -> tuple[float, float]:
    """(import, first AWS client) in seconds."""
    environment = {
        **function.environment,
        **({"POWERTOOLS_TRACE_DISABLED": "false"} if trace_aws_calls else {}),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(map(str, search_path)),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        "LAMBDA_TASK_ROOT": str(search_path[0]),
        "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1",
    }
    # -S: no site-packages of this machine; -I is not used because it would drop PYTHONPATH.
    result = subprocess.run(
        [sys.executable, "-S", "-c", _PROBE, function.module],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "cannot open shared object file" in result.stderr and platform.machine() != "aarch64":
        raise ForeignArchitecture(function.handler)
    if result.returncode != 0:
        raise RuntimeError(f"importing {function.handler} failed:\n{result.stderr}")
    imported, first_client = result.stdout.strip().splitlines()[-1].split()
    return float(imported), float(first_client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="the synthesized cloud assembly")
    parser.add_argument("--repeat", type=int, default=5, help="imports per handler; the median is reported")
    parser.add_argument(
        "--trace-aws-calls", action="store_true", help="as with app:traceAwsCalls=true (the X-Ray SDK loads)"
    )
    arguments = parser.parse_args()
    functions = list(shipped_functions(arguments.assembly))
    if not functions:
        raise SystemExit(f"no bundled functions in {arguments.assembly}: run `make synth` first")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        sdk = runtime_sdk(root)
        tracing = "on" if arguments.trace_aws_calls else "off"
        print(f"Python {sys.version.split()[0]}, AWS-call tracing {tracing}, "
              f"median of {arguments.repeat} cold starts\n")  # fmt: skip
        print("| Handler | Stack | Import (s) | Fastest import (s) | Then the first AWS client (s) |")
        print("|---|---|---|---|---|")
        measured: set[tuple[str, str]] = set()
        for function in functions:
            if (function.stack, function.handler) in measured:
                continue
            measured.add((function.stack, function.handler))
            code = read_only_copy(function.code, root / "code")
            layers = [read_only_copy(layer, root / "layers") / "python" for layer in function.layers]
            search_path = [code, *layers, sdk]
            try:
                runs = [cold_start_seconds(function, search_path, function.logical_id, arguments.trace_aws_calls)
                        for _ in range(arguments.repeat)]  # fmt: skip
            except ForeignArchitecture:
                print(f"| `{function.handler}` | {function.stack} | not measured: its layer's compiled code is for "
                      f"Lambda's arm64, this machine is {platform.machine()} | | |")  # fmt: skip
                continue
            imports, clients = [run[0] for run in runs], [run[1] for run in runs]
            print(f"| `{function.handler}` | {function.stack} | {statistics.median(imports):.3f} | "
                  f"{min(imports):.3f} | {statistics.median(clients):.3f} |")  # fmt: skip
        for path in root.rglob("*"):  # let the temporary directory be removed
            path.chmod(0o755 if path.is_dir() else 0o644)


if __name__ == "__main__":
    main()
