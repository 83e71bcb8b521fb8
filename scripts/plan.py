"""What a deployment would replace or delete, before it runs: ``make plan``.

    python -m scripts.plan [-c app:key=value ...] [--baseline DIR | --revision REV] [--markdown]

The app as it is now (with the ``-c`` overrides) is synthesized and compared with a baseline: the last
synthesized assembly (``cdk.out``, the default), another directory of templates, or the app at a git
revision (``--revision origin/main``). Which resources CloudFormation replaces is decided from AWS's
registry schemas (``createOnlyProperties``, cfn-lint's copy), with cascades (``devtools.replacements``),
and each row says what the replacement means for data. Stateful resources come first. ``cdk diff``
compares with the deployed stacks instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.replacements import ResourceId, replaced_resources

REPO_ROOT = Path(__file__).resolve().parent.parent

# What a replacement means for data, by resource type; the order is the table's (data lost first).
CONSEQUENCES: Mapping[str, str] = {
    "AWS::S3::Bucket": "a new, empty bucket: dev mode deletes the old one with its objects, prod mode keeps it",
    "AWS::Cognito::UserPool": "a new user pool: every user, password and group membership is gone",
    "AWS::MSK::Cluster": "a new cluster: every record on its topics is gone",
    "AWS::MSK::Topic": "a new topic: its records are gone",
    "AWS::SQS::Queue": "a new queue: messages waiting in the old one (dead letters too) are gone",
    "AWS::KMS::Key": "a new key: what the old key encrypted needs it until re-encrypted; it is deleted after 7 days",
    "Custom::S3VectorIndex": "a new vector index, filled again by both data sources; dev mode deletes the old one, "
    "prod mode keeps it (delete it yourself)",
    "AWS::Bedrock::KnowledgeBase": "a new knowledge base: the documents are synced again and the stream is read again "
    "from the oldest record Kafka retains",
    "AWS::Bedrock::DataSource": "a new data source: its documents are ingested again (a stream data source is "
    "deleted with its vectors, DataDeletionPolicy DELETE, so no record is answered from both)",
    "AWS::Lambda::EventSourceMapping": "a new consumer group reads the topic again from the oldest record Kafka "
    "retains (older records are not replayed)",
    "AWS::Logs::LogGroup": "a new log group: dev mode deletes the old one's events, prod mode keeps them",
    "AWS::Lambda::Version": "a new version of a changed function; its aliases move to it",
}
STATEFUL = frozenset(CONSEQUENCES) - {"AWS::Lambda::EventSourceMapping", "AWS::Lambda::Version"}
_ORDER = {resource_type: index for index, resource_type in enumerate(CONSEQUENCES)}


@dataclass(frozen=True)
class PlannedChange:
    where: ResourceId
    resource_type: str
    why: str

    @property
    def stateful(self) -> bool:
        return self.resource_type in STATEFUL

    @property
    def meaning(self) -> str:
        return CONSEQUENCES.get(self.resource_type, "replaced; it holds no data of its own")


# The CDK CLI adds one AWS::CDK::Metadata resource to each stack it synthesizes (its version reporting); plan's own
# synthesis does not. It is no AWS resource and holds nothing, so neither side's counts.
CDK_METADATA = "AWS::CDK::Metadata"


def _without_cdk_metadata(templates: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {stack: {**template, "Resources": {logical_id: resource for logical_id, resource in
                                              template.get("Resources", {}).items()
                                              if resource.get("Type") != CDK_METADATA}}
            for stack, template in templates.items()}  # fmt: skip


def plan(before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]]) -> list[PlannedChange]:
    """Every resource of ``before`` that deploying ``after`` replaces or deletes, stateful ones first."""
    before, after = _without_cdk_metadata(before), _without_cdk_metadata(after)
    shared = {stack: template for stack, template in before.items() if stack in after}
    changes = [PlannedChange(where, shared[where.stack]["Resources"][where.logical_id]["Type"], why)
               for where, why in replaced_resources(shared, after).items()]  # fmt: skip
    for stack in sorted(set(before) - set(after)):
        changes += [PlannedChange(ResourceId(stack, logical_id), resource["Type"], "its stack is removed")
                    for logical_id, resource in before[stack]["Resources"].items()]  # fmt: skip
    return sorted(changes, key=lambda change: (not change.stateful, _ORDER.get(change.resource_type, len(_ORDER)),
                                               change.where.stack, change.where.logical_id))  # fmt: skip


def failing_updates(before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]]) -> list[str]:
    """Updates CloudFormation would attempt and the service refuses, failing the deployment: Kafka adds partitions
    to a topic but never removes them (switching back from the bulk path's 6 default partitions, for one)."""
    problems: list[str] = []
    for stack, template in after.items():
        for logical_id, resource in template.get("Resources", {}).items():
            old = before.get(stack, {}).get("Resources", {}).get(logical_id)
            if resource.get("Type") != "AWS::MSK::Topic" or not old or old.get("Type") != "AWS::MSK::Topic":
                continue
            was, will = old["Properties"].get("PartitionCount"), resource["Properties"].get("PartitionCount")
            if isinstance(was, int) and isinstance(will, int) and will < was:
                problems.append(
                    f"{stack}/{logical_id}: the topic would go from {was} to {will} partitions, which "
                    f"Kafka cannot do, so the deployment would fail. Keep -c app:topicPartitions={was}."
                )
    return problems


def table(changes: Sequence[PlannedChange]) -> str:
    if not changes:
        return "Nothing would be replaced or deleted."
    rows = ["| stack | resource | type | why | what it means for data |", "|---|---|---|---|---|"]
    rows += [f"| {change.where.stack} | {change.where.logical_id} | {change.resource_type} | {change.why} | "
             f"{'**' if change.stateful else ''}{change.meaning}{'**' if change.stateful else ''} |"
             for change in changes]  # fmt: skip
    stateful = sum(change.stateful for change in changes)
    return "\n".join([f"{len(changes)} resources would be replaced or deleted, {stateful} of them stateful:", "",
                      *rows])  # fmt: skip


def templates_in(directory: Path) -> dict[str, dict[str, Any]]:
    """The stack templates of a synthesized assembly, by stack ID."""
    return {path.name.removesuffix(".template.json"): json.loads(path.read_text())
            for path in sorted(directory.glob("*.template.json"))}  # fmt: skip


def synthesize(source: Path, outdir: Path, context: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``app.py`` of ``source`` synthesized into ``outdir`` without bundling (templates only: no pip, no network)."""
    # As the CDK CLI runs the app: cdk.json's context, then the command line's, in CDK_CONTEXT_JSON.
    values = json.loads((source / "cdk.json").read_text()).get("context", {})
    values.update(dict(item.split("=", 1) for item in context))
    values["aws:cdk:bundling-stacks"] = []
    environment = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(values)}
    result = subprocess.run([sys.executable, "app.py"], cwd=source, env=environment, capture_output=True, text=True,
                            check=False)  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"synthesizing {source} failed:\n{result.stderr.strip()[-2000:]}")
    return templates_in(outdir)


def at_revision(revision: str, outdir: Path, context: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The app as it was at a git revision, synthesized in a temporary worktree."""
    worktree = outdir / "worktree"
    subprocess.run(["git", "worktree", "add", "--detach", str(worktree), revision], cwd=REPO_ROOT, check=True,
                   capture_output=True)  # fmt: skip
    try:
        return synthesize(worktree, outdir / "assembly", context)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO_ROOT, check=False,
                       capture_output=True)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--context", action="append", default=[], help="app:key=value, as with cdk -c")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--baseline", type=Path, default=REPO_ROOT / "cdk.out", help="a synthesized assembly")
    source.add_argument("--revision", help="a git revision of this repository, e.g. origin/main")
    parser.add_argument("--current", type=Path, help="compare this synthesized assembly instead of the app now")
    parser.add_argument("--markdown", action="store_true", help="a heading for a pull request's job summary")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if arguments.revision:
            before = at_revision(arguments.revision, work / "before", [])  # as it was, with its own cdk.json
            against = f"revision {arguments.revision}"
        else:
            before = templates_in(arguments.baseline)
            against = str(arguments.baseline)
            if not before:
                print(f"No templates in {against}: run `make synth` first, or give --revision.", file=sys.stderr)
                return 2
        after = templates_in(arguments.current) if arguments.current else synthesize(REPO_ROOT, work / "after",
                                                                                     arguments.context)  # fmt: skip
    if arguments.markdown:
        print(f"## Deployment plan (against {against})\n")
    print(table(plan(before, after)))
    failing = failing_updates(before, after)
    for problem in failing:
        print(f"\nWould fail: {problem}")
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main())
