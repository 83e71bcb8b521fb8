"""Synthesizes the app once per test session (and each settings variant once)."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

# Handler modules create Powertools objects at import, as in Lambda; give them the function's settings.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "kbstream")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "test")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from devtools.generated_files import write_if_changed
from scripts.estimate_cost import EXISTING_CLUSTER_SETTINGS
from stacks.application import Stacks, build_app
from stacks.settings import Settings, load_settings
from stream_ingest.mapping import TICKER_PRICES
from tests.support.policies import policy_problems
from tests.support.sdk_recorder import SdkCallRecorder

REPO_ROOT = Path(__file__).resolve().parent.parent

# Property-based tests: no per-example deadline (a shared 2-core CI machine is no place for timing assertions),
# and a fixed seed on CI so that a red run can be replayed exactly.
hypothesis_settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile("ci", parent=hypothesis_settings.get_profile("default"), derandomize=True,
                                     database=None)  # fmt: skip
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")
# cdk.json without its app: keys: CDK's feature flags as deployed, and the code's own defaults for every
# setting, whatever values a team has put in its cdk.json (their own values are checked to load, below).
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
CDK_CONTEXT: dict[str, Any] = {key: value for key, value in CDK_JSON_CONTEXT.items() if not key.startswith("app:")}


def default_settings() -> Settings:
    """The code's defaults, as an operator command would load them from a cdk.json without a team's values."""
    return load_settings(CDK_CONTEXT)


# Settings of the bring-your-own-cluster variant (``synth(**EXISTING_CLUSTER)``), as the cost script uses them.
EXISTING_CLUSTER: dict[str, Any] = {key.removeprefix("app:"): value for key, value in EXISTING_CLUSTER_SETTINGS.items()}
EXISTING_CLUSTER_ARN: str = EXISTING_CLUSTER["existingClusterArn"]

# The sample's ticker prices with key-based document IDs: the latest price per ticker, deleted by tombstones.
PER_KEY_TICKERS: dict[str, Any] = {**TICKER_PRICES, "id": "ticker/{key}"}

# The bulk path (docs/bulk-path.md). Append-only: the ticker prices with string metadata, which go in CSV rows.
BULK_TICKERS: dict[str, Any] = {**TICKER_PRICES, "metadata": {
    "ticker": {"field": "ticker", "type": "string"},
    "price": {"field": "price", "type": "string"},
    "timestamp": {"field": "value.timestamp", "type": "string"},
}}  # fmt: skip
BULK_OFFSETS: dict[str, Any] = {"streamIngestPath": "bulk", "streamDocument": BULK_TICKERS}
# Key-based IDs: one object per ticker, typed metadata, tombstones delete objects.
BULK_KEYS: dict[str, Any] = {"streamIngestPath": "bulk", "streamDocument": PER_KEY_TICKERS}

# A team's AWS Glue schema registry, which the provisioned mapping decodes values with.
SCHEMA_REGISTRY_ARN = "arn:aws:glue:us-east-1:123456789012:registry/team-schemas"

# Access by group, and every optional query feature on.
GROUP_FILTERS: dict[str, Any] = {
    "public": {"equals": {"key": "is_internal", "value": False}},
    "partners": {"notEquals": {"key": "tags", "value": "metrics,operations"}},
    "staff": {},
}
QUERY_FEATURES: dict[str, Any] = {
    "groupFilters": GROUP_FILTERS,
    "rerankingModelId": "amazon.rerank-v1:0",
    "queryDecomposition": True,
    "implicitFilterAttributes": [
        {"key": "is_internal", "type": "BOOLEAN", "description": "true for internal documents, false for public"},
        {"key": "ticker", "type": "STRING", "description": "stock ticker symbol of a price record, such as ZVZZT"},
    ],
    "guardrail": "create",
    "guardrailDeniedTopics": {"Investment advice": "Recommendations to buy, sell or hold securities."},
    "queryHttpApi": "cognito",
    "webChat": "on",
}
# Customer-managed encryption, with the query features on so every store the app can create exists.
CUSTOMER_MANAGED: dict[str, Any] = {"encryption": "customer-managed", **QUERY_FEATURES}
EXISTING_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
# The HTTP API with an existing OIDC issuer instead of the app's user pool.
OIDC_API: dict[str, Any] = {
    "groupFilters": GROUP_FILTERS,
    "queryHttpApi": "oidc",
    "queryHttpApiIssuer": "https://login.example.com/tenant",
    "queryHttpApiAudience": "kb-query",
    "queryGroupClaim": "groups",
    "guardrail": "existing",
    "guardrailId": "abcd1234efgh",
    "guardrailVersion": "3",
    "webChat": "on",
}


@dataclass(frozen=True)
class Synthesized:
    settings: Settings
    context: dict[str, Any]  # the App's
    templates: dict[str, dict[str, Any]]  # by construct id of the stack
    stack_names: dict[str, str]  # the deployed stack name, by construct id
    outdir: Path
    synthesized_stacks: Stacks | None = field(default=None, repr=False, compare=False)

    def template(self, stack_id: str) -> dict[str, Any]:
        return self.templates[stack_id]

    @functools.cached_property
    def stacks(self) -> Stacks:
        """The stacks' constructs: this process's synthesis, or (when another test worker synthesized the variant)
        the same settings synthesized again here, the first time a test asks."""
        if self.synthesized_stacks is not None:
            return self.synthesized_stacks
        with tempfile.TemporaryDirectory() as outdir:
            return synthesize_stacks(self.context, Path(outdir))[0]

    @property
    def stacks_by_id(self) -> dict[str, Any]:
        return {stack.node.id: stack for stack in assembly_stacks(self.stacks)}

    @property
    def templates_by_stack_name(self) -> dict[str, dict[str, Any]]:
        """What ``Fn::GetStackOutput`` names: the deployed stack names."""
        return {self.stack_names[stack_id]: template for stack_id, template in self.templates.items()}


@functools.cache
def built_chat_page() -> Path:
    """The chat page, built once per session as make chat-build builds it (the webChat variants upload it)."""
    from stacks.application import CHAT_PAGE

    subprocess.run([shutil.which("node") or "node", str(CHAT_PAGE.parent.parent / "web" / "chat" / "build.mjs"),
                    str(CHAT_PAGE)], check=True, capture_output=True, timeout=120)  # fmt: skip
    return CHAT_PAGE


def app_context(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        **CDK_CONTEXT,
        **(overrides or {}),
        # Tests never bundle Lambda code: no pip downloads, no network. `make synth` bundles for real.
        "aws:cdk:bundling-stacks": [],
    }


def synthesize_stacks(context: dict[str, Any], outdir: Path) -> tuple[Stacks, dict[str, dict[str, Any]]]:
    if context.get("app:webChat") == "on":
        built_chat_page()
    app = App(context=context, outdir=str(outdir))
    stacks = build_app(app, load_settings(app.node.get_all_context()))
    assembly = app.synth()
    return stacks, {stack.node.id: assembly.get_stack_artifact(stack.artifact_id).template for stack in
                    assembly_stacks(stacks)}  # fmt: skip


def synthesize(outdir: Path, overrides: Mapping[str, Any] | None = None) -> Synthesized:
    context = app_context(overrides)
    stacks, templates = synthesize_stacks(context, outdir)
    synthesized = Synthesized(settings=load_settings(context), context=context, templates=templates,
                              stack_names={stack.node.id: stack.stack_name for stack in assembly_stacks(stacks)},
                              outdir=outdir, synthesized_stacks=stacks)  # fmt: skip
    # Every variant any test synthesizes grants only what AWS's authorization data says can take effect.
    problems = policy_problems(synthesized.templates_by_stack_name)
    assert not problems, "IAM statements that AWS would not honour:\n" + "\n".join(problems)
    return synthesized


def synthesized_once(cache: Path, overrides: Mapping[str, Any]) -> Synthesized:
    """The variant synthesized by the first test worker that needs it; the others wait for it and read its cloud
    assembly (a synthesis takes about a second of CPU in Python and as much in the CDK's Node.js process)."""
    key = hashlib.sha256(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:20]
    entry, record = cache / key, cache / f"{key}.json"
    with (cache / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not record.exists():
            synthesized = synthesize(entry, overrides)
            write_if_changed(record, json.dumps({"templates": synthesized.templates,
                                                 "stack_names": synthesized.stack_names}))  # fmt: skip
            return synthesized
    saved = json.loads(record.read_text())
    context = app_context(overrides)
    return Synthesized(settings=load_settings(context), context=context, templates=saved["templates"],
                       stack_names=saved["stack_names"], outdir=entry)  # fmt: skip


def assembly_stacks(stacks: Stacks) -> list[Any]:
    return [value for value in vars(stacks).values() if value is not None]


# The settings variants the template scanners (Checkov, cfn-lint) check: between them, every optional resource.
SCANNED_VARIANTS: dict[str, dict[str, Any]] = {
    "dev": {},
    "prod": {"lifecycleMode": "prod"},
    "hierarchical": {"chunkingStrategy": "HIERARCHICAL"},
    "semantic": {"chunkingStrategy": "SEMANTIC"},
    "existing-cluster": {**EXISTING_CLUSTER, "endpointAzCount": 2},
    "provisioned": {"streamPollerMode": "provisioned", "streamDocument": PER_KEY_TICKERS,
                    "streamSchemaRegistryArn": SCHEMA_REGISTRY_ARN, "streamChunkingStrategy": "FIXED_SIZE",
                    "githubRepository": "org/repo", "alarmEmail": "ops@example.com"},
    "query-features": QUERY_FEATURES,
    "oidc-api": {**OIDC_API, "lifecycleMode": "prod"},
    "customer-managed": CUSTOMER_MANAGED,
    "existing-key": {"encryption": "customer-managed", "encryptionKeyArn": EXISTING_KEY_ARN, "lifecycleMode": "prod"},
    "bulk-offsets": BULK_OFFSETS,
    "bulk-keys-customer-managed": {**CUSTOMER_MANAGED, **BULK_KEYS},
}  # fmt: skip


@dataclass(frozen=True)
class ScannedTemplates:
    """Every scanned variant's template files, and for each file the first one with the same content: most
    templates are the same in several variants, and a scanner reads each distinct one once."""

    by_variant: dict[str, list[Path]]
    first_of: dict[Path, Path]

    @property
    def distinct(self) -> list[Path]:
        return sorted(set(self.first_of.values()))

    def variants_of(self, distinct_file: str) -> list[str]:
        return [name for name, files in self.by_variant.items() if any(str(self.first_of[file]) == distinct_file
                                                                       for file in files)]  # fmt: skip


@pytest.fixture(scope="session")
def scanned_templates(synth: Callable[..., Synthesized]) -> ScannedTemplates:
    by_variant: dict[str, list[Path]] = {}
    first_by_content: dict[str, Path] = {}
    first_of: dict[Path, Path] = {}
    for name, overrides in SCANNED_VARIANTS.items():
        synthesized = synth(**overrides)
        files = sorted(synthesized.outdir.glob("*.template.json"))
        assert len(files) == len(synthesized.templates)
        by_variant[name] = files
        for file in files:
            first_of[file] = first_by_content.setdefault(hashlib.sha256(file.read_bytes()).hexdigest(), file)
    return ScannedTemplates(by_variant=by_variant, first_of=first_of)


# Modules whose tests run on one worker, so that what they share is done once: the scanned variants' syntheses (a
# worker synthesizes each variant it needs), Checkov's one run over them and cfn-lint's.
SHARED_WORKER_MODULES = {"tests/test_scanners.py": "scanners", "tests/test_templates_lint.py": "scanners"}


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``--dist loadgroup`` (make test): each test goes where a worker is free, except that the tests of a
    SHARED_WORKER_MODULES module go together, and first (larger units start first). xdist groups by ``xdist_group``
    marks only through node IDs that pytest 9.2 no longer lets it change (pytest-dev/pytest-xdist#1386), so the
    groups are named here by module."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SharedWorkerModules(LoadGroupScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return SHARED_WORKER_MODULES.get(module) or str(super()._split_scope(nodeid))

    return SharedWorkerModules(config, log)


_cache: dict[str, Synthesized] = {}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Synthesized]:
    """``synth(**overrides)``: the app synthesized with these context overrides, once per variant and session."""
    # The test workers of one session share their base directory's parent (pytest-xdist); a run without workers
    # has a base directory of its own.
    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "syntheses"
    cache.mkdir(exist_ok=True)

    def get(**overrides: Any) -> Synthesized:
        context = {f"app:{key}": value for key, value in overrides.items()}
        key = json.dumps(context, sort_keys=True)
        if key not in _cache:
            _cache[key] = synthesized_once(cache, context)
        return _cache[key]

    return get


@pytest.fixture(scope="session")
def app(synth: Callable[..., Synthesized]) -> Synthesized:
    """The app with the code's default settings (and cdk.json's feature flags)."""
    return synth()


@dataclass
class LambdaEnvironment:
    """The handlers' clients (created once, as in Lambda), each recorded and strictly validated."""

    recorder: SdkCallRecorder

    def client(self, service: str) -> Any:
        from function_runtime import aws_clients

        created = aws_clients.client(service)  # the very instance the code under test will get from its cache
        if not getattr(created, "_recorded", False):
            self.recorder.attach(created)
            created._recorded = True
        return created


@pytest.fixture(autouse=True)
def no_metrics_left_over() -> None:
    """Powertools' Metrics instances share one buffer: metrics a test added and never flushed would otherwise be
    printed by the next handler in the same process (the tests run in several processes, in any order)."""
    from aws_lambda_powertools import Metrics

    Metrics().clear_metrics()


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaEnvironment]:
    """Fake credentials, no tracing, fresh clients."""
    from function_runtime import aws_clients

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "kbstream")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "test")
    aws_clients.client.cache_clear()
    yield LambdaEnvironment(recorder=SdkCallRecorder())
    aws_clients.client.cache_clear()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and no AWS configuration files of this machine."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
