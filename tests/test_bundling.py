"""Lambda code and the dependencies layer bundle locally, without Docker (and here without network)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Stack

from stacks.constructs.functions import CODE_EXCLUDES, PIP_PLATFORM, AppFunction, FunctionCode, LambdaSources
from stacks.settings import Lifecycle, LifecycleMode
from tests.conftest import REPO_ROOT


def test_layer_is_built_by_local_pip_for_the_lambda_platform(tmp_path: Path) -> None:
    layer_dir = tmp_path / "layer"
    layer_dir.mkdir()
    (layer_dir / "requirements.txt").write_text("# nothing to install: no network needed\n")
    code_dir = tmp_path / "code"
    (code_dir / "service").mkdir(parents=True)
    (code_dir / "service" / "handler.py").write_text("def handler(event, context):\n    return event\n")

    app = App(outdir=str(tmp_path / "out"))  # bundling enabled, as in `make synth`
    stack = Stack(app, "Bundled")
    code = FunctionCode.for_stack(stack, LambdaSources(code_dir=code_dir, layer_dir=layer_dir))
    AppFunction(stack, "Function", code=code, handler="service.handler.handler", description="test",
                lifecycle=Lifecycle(mode=LifecycleMode.DEV, log_retention_days=7))  # fmt: skip
    assert FunctionCode.for_stack(stack, LambdaSources(code_dir=code_dir, layer_dir=layer_dir)).layer is code.layer
    assembly = app.synth()

    assets = [path for path in Path(assembly.directory).iterdir() if path.name.startswith("asset.")]
    layer_assets = [path for path in assets if (path / "python").is_dir()]
    assert len(layer_assets) == 1  # pip ran and wrote python/ (empty requirements: nothing else)
    function_assets = [path for path in assets if (path / "service" / "handler.py").is_file()]
    assert len(function_assets) == 1


def test_code_asset_leaves_out_the_layer_and_caches() -> None:
    assert "layer" in CODE_EXCLUDES
    assert "**/__pycache__" in CODE_EXCLUDES
    assert PIP_PLATFORM == "manylinux2014_aarch64"
    assert (REPO_ROOT / "lambdas" / "layer" / "requirements.txt").is_file()
