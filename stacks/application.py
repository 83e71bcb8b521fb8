"""Composes the app's stacks from settings; shared by ``app.py`` and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.settings import Settings
from stacks.storage_stack import StorageStack

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCUMENTS = REPO_ROOT / "sample_data" / "documents"


@dataclass(frozen=True)
class Stacks:
    storage: StorageStack


def build_app(app: App, settings: Settings) -> Stacks:
    """Add every stack to ``app`` and run cdk-nag AwsSolutions over all of them."""
    storage = StorageStack(
        app,
        "Storage",
        stack_name=settings.stack_name("storage"),
        description="Document bucket with sample documents, and the S3 Vectors bucket and index",
        storage=settings.storage,
        lifecycle=settings.lifecycle,
        sample_documents=SAMPLE_DOCUMENTS,
    )
    Tags.of(app).add("application", settings.name_prefix)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return Stacks(storage=storage)
