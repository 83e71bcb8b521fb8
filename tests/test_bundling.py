"""Lambda code and the dependencies layer bundle locally, without Docker (and here without network)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Stack

from stacks.constructs.functions import AppFunction, FunctionCode, LambdaSources
from stacks.settings import FunctionSettings, Lifecycle


def test_layer_is_built_by_local_pip_for_the_lambda_platform(tmp_path: Path) -> None:
    # The same layout as lambdas/: handlers beside layers/<name>/requirements.txt.
    code_dir = tmp_path / "code"
    layer_dir = code_dir / "layers" / "powertools"
    (code_dir / "service" / "__pycache__").mkdir(parents=True)
    layer_dir.mkdir(parents=True)
    (layer_dir / "requirements.txt").write_text("# nothing to install: no network needed\n")
    (code_dir / "service" / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (code_dir / "service" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"")

    app = App(outdir=str(tmp_path / "out"))  # bundling enabled, as in `make synth`
    stack = Stack(app, "Bundled")
    sources = LambdaSources(code_dir=code_dir, layers_dir=layer_dir.parent)
    settings = FunctionSettings(metrics_namespace="test", trace_aws_calls=False)
    code = FunctionCode.for_stack(stack, sources, settings)
    AppFunction(stack, "Function", code=code, handler="service.handler.handler", service="service", config=None,
                description="test", lifecycle=Lifecycle.model_validate({"logRetentionDays": 7}))  # fmt: skip
    assert FunctionCode.for_stack(stack, sources, settings).layer("powertools") is code.layer("powertools")
    assembly = app.synth()

    assets = [path for path in Path(assembly.directory).iterdir() if path.name.startswith("asset.")]
    layer_assets = [path for path in assets if (path / "python").is_dir()]
    assert len(layer_assets) == 1  # pip ran and wrote python/ (empty requirements: nothing else)
    (function_asset,) = [path for path in assets if (path / "service" / "handler.py").is_file()]
    # The function's code leaves out the layer's sources and bytecode caches.
    assert not (function_asset / "layers").exists()
    assert not (function_asset / "service" / "__pycache__").exists()
