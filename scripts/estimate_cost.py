"""Monthly cost of the app, by resource, read from the synthesized templates and a price table.

    python -m scripts.estimate_cost [--write]        (make cost [ARGS=--write])

Synthesizes the app twice in process (the settings of cdk.json, and the bring-your-own-cluster
variant), walks the templates for what costs money while idle (brokers, broker storage, interface
endpoints, NAT gateways, provisioned event pollers, alarms) and prices a stated load on top. Prices
are us-east-1 list prices (late 2026); they are inputs, not quotes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.generated_files import write_if_changed
from stacks.settings import SettingsError

HOURS_PER_MONTH = 730
BROKER_HOUR: dict[str, float] = {"kafka.t3.small": 0.0456, "kafka.m5.large": 0.21, "kafka.m7g.large": 0.204}
PRICES: dict[str, float] = {
    "msk_storage_gb_month": 0.10,
    "interface_endpoint_az_hour": 0.01,
    "nat_gateway_hour": 0.045,
    "elastic_ip_hour": 0.005,
    "event_poller_unit_hour": 0.185,
    "alarm_month": 0.10,
    "lambda_request": 0.20 / 1_000_000,
    "lambda_arm_gb_second": 0.0000133334,
    "titan_v2_per_1k_tokens": 0.00002,
    "s3_vectors_gb_month": 0.06,
    "s3_vectors_gb_written": 0.20,
    "claude_sonnet_input_per_1m_tokens": 3.00,
    "claude_sonnet_output_per_1m_tokens": 15.00,
    "logs_ingested_gb": 0.50,
    # Optional query features (queryHttpApi, guardrail, rerankingModelId, implicit filters, decomposition).
    "http_api_per_1m_requests": 1.00,
    "cognito_essentials_mau_over_10k": 0.015,
    "guardrail_content_per_1k_text_units": 0.15,
    "guardrail_topics_per_1k_text_units": 0.15,
    "guardrail_pii_per_1k_text_units": 0.10,
    "amazon_rerank_per_1k_queries": 1.00,
    # The chat page (webChat): CloudFront HTTPS requests and data out, and S3 GETs behind them.
    "cloudfront_per_10k_https_requests": 0.0100,
    "cloudfront_per_gb_out": 0.085,
    "s3_per_1k_get_requests": 0.0004,
    # Its answers stream over an API Gateway WebSocket API: messages (in 32 KB units) and connection minutes.
    "websocket_per_1m_messages": 1.00,
    "websocket_per_1m_connection_minutes": 0.25,
    "cohere_rerank_per_1k_queries": 2.00,
    # The bulk path (streamIngestPath=bulk): S3 Standard requests and SQS.
    "s3_per_1k_put_requests": 0.005,
    "sqs_per_1m_requests": 0.40,
    # encryption=customer-managed
    "kms_key_month": 1.00,
    "kms_per_10k_requests": 0.03,
}
# An example of the bring-your-own-cluster settings (the tests synthesize the same variant).
EXISTING_CLUSTER_SETTINGS = {
    "app:existingClusterArn": (
        "arn:aws:kafka:us-east-1:123456789012:cluster/team-kafka/0b1c2d3e-4f5a-6b7c-8d9e-0123456789ab-3"
    ),
    "app:existingVpcId": "vpc-0a1b2c3d4e5f60718",
    "app:existingSubnetIds": ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"],
    "app:existingSecurityGroupId": "sg-0a1b2c3d4e5f60718",
}


CUSTOMER_MANAGED_SETTINGS = {"app:encryption": "customer-managed"}


@dataclass(frozen=True)
class Load:
    """The stated load: a steady ticker stream and a few questions a day."""

    records_per_month: int = 730_000  # 1,000 prices an hour
    records_per_invocation: int = 10
    invocation_seconds: float = 0.5
    tokens_per_record: int = 25
    vector_bytes: int = 1024 * 4 + 1024  # float32 x 1024 dimensions, plus metadata and text
    questions_per_month: int = 1_000
    input_tokens_per_question: int = 3_000  # question, prompt and retrieved chunks
    output_tokens_per_question: int = 300
    query_seconds: float = 6.0
    log_bytes_per_invocation: int = 2_000
    # With the guardrail: question, answer and five passages of about 1,500 characters (1,000 per unit).
    guardrail_text_units_per_question: int = 13
    # Each extra model call (implicit filter, decomposition): input and output tokens.
    extra_call_input_tokens: int = 1_000
    extra_call_output_tokens: int = 150
    # KMS requests a month with the customer-managed key: SQS reuses a data key for an hour per queue and
    # sender, S3 uses a bucket key, CloudWatch Logs and S3 Vectors cache theirs; sessions and the stream's
    # queue traffic make the rest.
    kms_requests_per_month: int = 60_000


@dataclass(frozen=True)
class PathMeasurement:
    """What one path does per million records, as make benchmark measured it (docs/benchmarks.md)."""

    name: str
    records_per_second: str  # sustained, as measured
    freshness: str  # Kafka timestamp to indexed, p50 / p95
    function_gb_seconds: float
    function_invocations: float
    s3_writes: float  # PUT and DELETE requests of the app's functions
    objects: float  # objects written: an ingestion job reads each and its sidecar
    check_messages: float  # indexing-check messages sent (SQS: sent, received, deleted)


# Direct: 46.5 documents/s (all partitions in one invocation), batches of 500, 512 MB, 10 documents a check message.
# Bulk: the rows of `python -m benchmarks.bulk_ingest` at 1,000 records/s for ten simulated minutes.
PATH_MEASUREMENTS: tuple[PathMeasurement, ...] = (
    PathMeasurement("direct", "46", "23 / 32 (a backlog)", 1_000_000 / 46.5 * 0.5, 2_000, 0, 0, 100_000),
    PathMeasurement("bulk, key IDs", "990", "101 / 130", 5_241, 502, 2_000_585, 1_000_000, 5_505),
    PathMeasurement("bulk, offset IDs", "1,000", "91 / 119", 694, 502, 2_588, 1_002, 1_305),
)
# Every ingestion starts the same embeddings and vector writes, whichever the path: per million records.
_EMBEDDED_PER_MILLION = Load(records_per_month=1_000_000)
# The job starter runs every minute, also while nothing waits: it then looks once and returns.
STARTER_IDLE_SECONDS, STARTER_GB = 0.2, 256 / 1024


def path_costs(measurement: PathMeasurement) -> list[tuple[str, float]]:
    """(item, dollars) per million records on one path."""
    load = _EMBEDDED_PER_MILLION
    gb_second = PRICES["lambda_arm_gb_second"]
    return [
        ("Stream function", measurement.function_gb_seconds * gb_second
         + measurement.function_invocations * PRICES["lambda_request"]),
        ("Indexing checks (SQS)", measurement.check_messages * 3 * PRICES["sqs_per_1m_requests"] / 1e6),
        ("S3 writes", measurement.s3_writes / 1000 * PRICES["s3_per_1k_put_requests"]),
        ("S3 reads by ingestion jobs", measurement.objects * 2 / 1000 * PRICES["s3_per_1k_get_requests"]),
        ("Titan Text Embeddings v2", load.records_per_month * load.tokens_per_record / 1000
         * PRICES["titan_v2_per_1k_tokens"]),
        ("S3 Vectors writes", load.records_per_month * load.vector_bytes / 1024**3 * PRICES["s3_vectors_gb_written"]),
    ]  # fmt: skip


def path_table() -> list[str]:
    names = [measurement.name for measurement in PATH_MEASUREMENTS]
    costs = [dict(path_costs(measurement)) for measurement in PATH_MEASUREMENTS]
    rows = [f"| per million records | {' | '.join(names)} |", "|---|" + "---:|" * len(names),
            f"| records/s sustained | {' | '.join(m.records_per_second for m in PATH_MEASUREMENTS)} |",
            f"| freshness p50 / p95 (s) | {' | '.join(m.freshness for m in PATH_MEASUREMENTS)} |"]  # fmt: skip
    rows += [f"| {item} | {' | '.join(f'${cost[item]:,.2f}' for cost in costs)} |" for item in costs[0]]
    rows.append(f"| **total** | {' | '.join(f'**${sum(cost.values()):,.2f}**' for cost in costs)} |")
    return rows


def starter_idle_monthly() -> float:
    invocations = HOURS_PER_MONTH * 60
    return invocations * (PRICES["lambda_request"] + STARTER_IDLE_SECONDS * STARTER_GB * PRICES["lambda_arm_gb_second"])


@dataclass(frozen=True)
class Line:
    item: str
    detail: str
    monthly: float


def _resources(templates: Mapping[str, dict[str, Any]], resource_type: str) -> Iterable[dict[str, Any]]:
    for template in templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] == resource_type:
                yield resource.get("Properties", {})


def idle_lines(templates: Mapping[str, dict[str, Any]]) -> list[Line]:
    lines: list[Line] = []
    for cluster in _resources(templates, "AWS::MSK::Cluster"):
        brokers = int(cluster["NumberOfBrokerNodes"])
        instance = cluster["BrokerNodeGroupInfo"]["InstanceType"]
        hourly = BROKER_HOUR[instance]
        lines.append(Line("MSK brokers", f"{brokers} x {instance} at ${hourly}/h", brokers * hourly * HOURS_PER_MONTH))
        size = int(cluster["BrokerNodeGroupInfo"]["StorageInfo"]["EBSStorageInfo"]["VolumeSize"])
        lines.append(Line("MSK storage", f"{brokers} x {size} GB", brokers * size * PRICES["msk_storage_gb_month"]))
    endpoint_azs = sum(len(endpoint["SubnetIds"]) for endpoint in _resources(templates, "AWS::EC2::VPCEndpoint")
                       if endpoint.get("VpcEndpointType") == "Interface")  # fmt: skip
    if endpoint_azs:
        lines.append(
            Line(
                "Interface endpoints",
                f"{endpoint_azs} endpoint-AZs (Lambda, STS)",
                endpoint_azs * PRICES["interface_endpoint_az_hour"] * HOURS_PER_MONTH,
            )
        )
    nat_gateways = len(list(_resources(templates, "AWS::EC2::NatGateway")))
    if nat_gateways:
        hourly = PRICES["nat_gateway_hour"] + PRICES["elastic_ip_hour"]
        lines.append(Line("NAT gateways", f"{nat_gateways} with Elastic IPs", nat_gateways * hourly * HOURS_PER_MONTH))
    for mapping in _resources(templates, "AWS::Lambda::EventSourceMapping"):
        pollers = mapping.get("ProvisionedPollerConfig", {}).get("MinimumPollers")
        if pollers:
            lines.append(
                Line(
                    "Provisioned event pollers",
                    f"{pollers} minimum",
                    pollers * PRICES["event_poller_unit_hour"] * HOURS_PER_MONTH,
                )
            )
    alarms = len(list(_resources(templates, "AWS::CloudWatch::Alarm")))
    lines.append(Line("CloudWatch alarms", f"{alarms} standard alarms", alarms * PRICES["alarm_month"]))
    lines.append(Line("Lambda, SQS, SNS, S3, S3 Vectors, logs", "nothing runs while idle", 0.0))
    return lines


def load_lines(load: Load, templates: Mapping[str, dict[str, Any]]) -> list[Line]:
    memory_gb = {
        properties["Handler"]: properties.get("MemorySize", 128) / 1024
        for properties in _resources(templates, "AWS::Lambda::Function")
        if "Handler" in properties
    }
    invocations = math.ceil(load.records_per_month / load.records_per_invocation)
    gb_second = PRICES["lambda_arm_gb_second"]
    stream_gb, query_gb = memory_gb["stream_ingest.handler.handler"], memory_gb["query.handler.handler"]
    stream_compute = invocations * (PRICES["lambda_request"] + load.invocation_seconds * stream_gb * gb_second)
    query_compute = load.questions_per_month * (PRICES["lambda_request"] + load.query_seconds * query_gb * gb_second)
    written_gb = load.records_per_month * load.vector_bytes / 1024**3
    tokens = load.records_per_month * load.tokens_per_record
    generation = (
        load.questions_per_month
        * (
            load.input_tokens_per_question * PRICES["claude_sonnet_input_per_1m_tokens"]
            + load.output_tokens_per_question * PRICES["claude_sonnet_output_per_1m_tokens"]
        )
        / 1_000_000
    )
    logs_gb = (invocations + load.questions_per_month) * load.log_bytes_per_invocation / 1024**3
    return [
        Line("Stream ingest function", f"{invocations:,} invocations of {load.invocation_seconds} s", stream_compute),
        Line(
            "Titan Text Embeddings v2", f"{tokens / 1e6:.1f} M tokens", tokens / 1000 * PRICES["titan_v2_per_1k_tokens"]
        ),
        Line("S3 Vectors writes", f"{written_gb:.2f} GB written", written_gb * PRICES["s3_vectors_gb_written"]),
        Line("S3 Vectors storage", f"{written_gb:.2f} GB added each month", written_gb * PRICES["s3_vectors_gb_month"]),
        Line("Generation (Claude Sonnet 4.6)", f"{load.questions_per_month:,} questions", generation),
        Line("Query function", f"{load.questions_per_month:,} invocations of {load.query_seconds} s", query_compute),
        Line("CloudWatch Logs", f"{logs_gb:.2f} GB ingested", logs_gb * PRICES["logs_ingested_gb"]),
    ]


def feature_lines(load: Load) -> list[Line]:
    """What each optional query feature adds for the stated questions; none of them costs anything idle."""
    questions = load.questions_per_month
    units = questions * load.guardrail_text_units_per_question
    guardrail_unit = sum(PRICES[f"guardrail_{policy}_per_1k_text_units"] for policy in ("content", "topics", "pii"))
    extra_call = (load.extra_call_input_tokens * PRICES["claude_sonnet_input_per_1m_tokens"]
                  + load.extra_call_output_tokens * PRICES["claude_sonnet_output_per_1m_tokens"]) / 1e6  # fmt: skip
    requests = questions * PRICES["http_api_per_1m_requests"] / 1e6
    page_loads = questions // 5  # a visit asks about five questions
    file_gets = page_loads * 4  # index.html, app.js, app.css, config.json
    transferred_gb = page_loads * 15_000 / 1e9  # about 15 KB a visit
    chat_page = (file_gets / 10_000 * PRICES["cloudfront_per_10k_https_requests"]
                 + transferred_gb * PRICES["cloudfront_per_gb_out"]
                 + file_gets / 1000 * PRICES["s3_per_1k_get_requests"])  # fmt: skip
    # Per answer: the question, about ten pieces of text (sent at most every 50 ms), and the result.
    messages = questions * 12
    connection_minutes = page_loads * 10  # a visit keeps its connection about ten minutes
    # Each connection runs the authorizer once (0.2 s at 256 MB) and the query function's $connect (0.05 s).
    connect_compute = page_loads * (2 * PRICES["lambda_request"] + 0.25 * 0.25 * PRICES["lambda_arm_gb_second"])
    answer_stream = (messages / 1e6 * PRICES["websocket_per_1m_messages"] + connect_compute
                     + connection_minutes / 1e6 * PRICES["websocket_per_1m_connection_minutes"])  # fmt: skip
    return [
        Line("HTTP API (`queryHttpApi`)", f"{questions:,} requests", requests),
        Line("Cognito user pool (`cognito`)", "Essentials: the first 10,000 monthly active users", 0.0),
        Line("Guardrail (`guardrail`)", f"{units:,} text units x content, topic and PII policies",
             units / 1000 * guardrail_unit),
        Line("Reranking (`amazon.rerank-v1:0`)", f"{questions:,} queries of up to 100 chunks",
             questions / 1000 * PRICES["amazon_rerank_per_1k_queries"]),
        Line("Implicit filters", f"one more Claude Sonnet call per question ({load.extra_call_input_tokens:,} in, "
             f"{load.extra_call_output_tokens} out)", questions * extra_call),
        Line("Query decomposition", "about one more Claude Sonnet call per question", questions * extra_call),
        Line("Conversation key (`groupFilters`)", "1 KMS HMAC key; a MAC made and checked per question",
             PRICES["kms_key_month"] + questions * 2 / 10_000 * PRICES["kms_per_10k_requests"]),
        Line("Chat page (`webChat`)", f"CloudFront and S3 per request: {page_loads:,} page loads of 4 files",
             chat_page),
        Line("Answer stream (`webChat`)", f"WebSocket API: {messages:,} messages, {connection_minutes:,} connection "
             f"minutes; {page_loads:,} connections authorized", answer_stream),
    ]  # fmt: skip


def key_lines(load: Load, templates: Mapping[str, dict[str, Any]]) -> list[Line]:
    """The customer-managed key: one a month, plus requests (templates: of the customer-managed variant)."""
    keys = len(list(_resources(templates, "AWS::KMS::Key")))
    requests = load.kms_requests_per_month if keys else 0
    return [
        Line("KMS key (`encryption=customer-managed`)", f"{keys} key, rotated yearly", keys * PRICES["kms_key_month"]),
        Line("KMS requests", f"about {requests:,} a month under the stated load",
             requests / 10_000 * PRICES["kms_per_10k_requests"]),
    ]  # fmt: skip


def nat_gateway_design_lines() -> list[Line]:
    """The common design of an MSK stream into Lambda, by the same prices: 2 brokers, a NAT gateway and its IP."""
    broker = BROKER_HOUR["kafka.t3.small"]
    return [
        Line("MSK brokers", "2 x kafka.t3.small", 2 * broker * HOURS_PER_MONTH),
        Line(
            "NAT gateway", "1, for the consumer's path to Lambda and STS", PRICES["nat_gateway_hour"] * HOURS_PER_MONTH
        ),
        Line("Elastic IP", "the NAT gateway's", PRICES["elastic_ip_hour"] * HOURS_PER_MONTH),
    ]


def _table(lines: list[Line]) -> list[str]:
    rows = ["| item | detail | per month |", "|---|---|---:|"]
    rows += [f"| {line.item} | {line.detail} | ${line.monthly:,.2f} |" for line in lines]
    rows.append(f"| **total** | | **${sum(line.monthly for line in lines):,.2f}** |")
    return rows


def render_markdown(default: Mapping[str, dict[str, Any]], existing: Mapping[str, dict[str, Any]],
                    customer_managed: Mapping[str, dict[str, Any]], load: Load = Load()) -> str:  # fmt: skip
    idle, extra = idle_lines(default), load_lines(load, default)
    out = [
        "# Monthly cost",
        "",
        "Generated by `make cost ARGS=--write` (`python -m scripts.estimate_cost --write`) from the",
        "synthesized templates of the default settings and the us-east-1 list prices in the script. Tax,",
        "free tiers and data transfer are left out. `make cost` prints the totals for your own settings.",
        "",
        "## Left idle (default settings)",
        "",
        *_table(idle),
        "",
        "## Under load",
        "",
        f"The stated load: {load.records_per_month:,} ticker prices a month (1,000 an hour), ingested",
        f"{load.records_per_invocation} per invocation, and {load.questions_per_month:,} questions a month",
        f"answered by RetrieveAndGenerate ({load.input_tokens_per_question:,} input and",
        f"{load.output_tokens_per_question} output tokens each). On top of the idle cost:",
        "",
        *_table(extra),
        "",
        f"Idle plus load: **${sum(line.monthly for line in idle + extra):,.2f}** a month.",
        "",
        "## Optional query features",
        "",
        f"Off by default, and free while idle but for the conversation key. For the same {load.questions_per_month:,}",
        "questions a month, each adds this; the total is all of them on. Cohere Rerank 3.5 costs $"
        f"{PRICES['cohere_rerank_per_1k_queries']:.2f} per 1,000 queries instead, and a",
        f"user pool ${PRICES['cognito_essentials_mau_over_10k']} per monthly active user beyond 10,000.",
        "",
        *_table(feature_lines(load)),
        "",
        "## A customer-managed key",
        "",
        "With `encryption=customer-managed` and the app's own key (none with `encryptionKeyArn`: your key's",
        "cost is yours already). The first year's price; KMS adds the key price again for each of the first two",
        "yearly rotations, so the key costs twice as much in its second year and three times from its third.",
        "Deleting the key ends the charge after the 7-day waiting period:",
        "",
        *_table(key_lines(load, customer_managed)),
        "",
        "## The bulk path, per million records",
        "",
        "With `streamIngestPath=bulk` the stream's documents go through S3 objects and ingestion jobs",
        "([the bulk path](bulk-path.md)). Per million records, from what `make benchmark` measured at 1,000",
        "records/s (the direct path at its quota's 46 records/s); embeddings and vectors are the same on every",
        "path, at the stated load's 25 tokens and 5 KB a record. The bulk path's idle cost is its job starter,",
        f"which runs every minute: ${starter_idle_monthly():,.2f} a month.",
        "",
        *path_table(),
        "",
        "## Bring your own cluster",
        "",
        "With the `existing*` settings the app creates no cluster, VPC or endpoints; idle:",
        "",
        *_table(idle_lines(existing)),
        "",
        "## The same stream through a NAT gateway, by the same prices",
        "",
        "A common design gives the event source mapping its path to Lambda and STS through a NAT gateway:",
        "",
        *_table(nat_gateway_design_lines()),
        "",
        "The difference is the NAT gateway and its address: PrivateLink endpoints for Lambda and STS",
        "in one AZ give the event source mapping the same path for less, and nothing else in the VPC needs",
        "the internet. `endpointAzCount=2` adds one more endpoint per service for AZ resilience.",
        "",
    ]
    return "\n".join(out)


def synthesize_templates(overrides: Mapping[str, Any], *, own_settings: bool = True) -> dict[str, dict[str, Any]]:
    """The templates of cdk.json's settings (or, with ``own_settings=False``, the code's defaults) and overrides."""
    from aws_cdk import App

    from stacks.application import build_app
    from stacks.settings import load_settings

    context = json.loads((Path(__file__).resolve().parent.parent / "cdk.json").read_text())["context"]
    if not own_settings:
        context = {key: value for key, value in context.items() if not key.startswith("app:")}
    context.update(overrides)
    context["aws:cdk:bundling-stacks"] = []  # the templates are what matters; skip building the layer
    with tempfile.TemporaryDirectory() as outdir:
        app = App(context=context, outdir=outdir)
        stacks = build_app(app, load_settings(app.node.get_all_context()))
        assembly = app.synth()
        return {
            stack.node.id: assembly.get_stack_artifact(stack.artifact_id).template
            for stack in vars(stacks).values()
            if stack is not None
        }


COST_DOC = Path(__file__).resolve().parent.parent / "docs" / "cost.md"


def totals(default: Mapping[str, dict[str, Any]], existing: Mapping[str, dict[str, Any]],
           customer_managed: Mapping[str, dict[str, Any]], load: Load = Load()) -> str:  # fmt: skip
    """The monthly totals, one line each (docs/cost.md has every line behind them)."""
    idle = sum(line.monthly for line in idle_lines(default))
    rows = [
        ("Left idle", idle),
        ("Idle plus the stated load", idle + sum(line.monthly for line in load_lines(load, default))),
        ("Optional query features, all on (for the same load)", sum(line.monthly for line in feature_lines(load))),
        ("A customer-managed key", sum(line.monthly for line in key_lines(load, customer_managed))),
        ("Bring your own cluster, idle", sum(line.monthly for line in idle_lines(existing))),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(["Monthly cost, us-east-1 list prices (docs/cost.md has every line):",
                      *(f"  {label.ljust(width)}  ${amount:>9,.2f}" for label, amount in rows)])  # fmt: skip


def _own_settings_are_the_defaults() -> bool:
    from stacks.settings import load_settings

    context = json.loads(COST_DOC.parent.parent.joinpath("cdk.json").read_text())["context"]
    return load_settings(context) == load_settings({key: value for key, value in context.items()
                                                    if not key.startswith("app:")})  # fmt: skip


def _setting(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.startswith("app:"):
        raise argparse.ArgumentTypeError(f"{text!r} is not app:key=value")
    return key, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.estimate_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--write", action="store_true", help="also rewrite docs/cost.md (the default settings)")
    parser.add_argument("-c", "--context", action="append", default=[], type=_setting, metavar="app:key=value",
                        help="a setting of your own, as with cdk -c (priced on top of cdk.json's)")  # fmt: skip
    arguments = parser.parse_args(argv)
    yours = dict(arguments.context)

    def templates(own: bool) -> list[dict[str, dict[str, Any]]]:
        return [synthesize_templates({**(yours if own else {}), **overrides}, own_settings=own)
                for overrides in ({}, EXISTING_CLUSTER_SETTINGS, CUSTOMER_MANAGED_SETTINGS)]  # fmt: skip

    try:
        default, existing, customer_managed = templates(own=True)
    except SettingsError as error:
        print(f"error: {error}\n  fix: fix the -c app:... argument or cdk.json", file=sys.stderr)
        return 2
    print(totals(default, existing, customer_managed))
    if arguments.write:
        if yours or not _own_settings_are_the_defaults():  # else the templates above are the defaults' already
            default, existing, customer_managed = templates(own=False)
        write_if_changed(COST_DOC, render_markdown(default, existing, customer_managed))
        print(f"wrote {COST_DOC} (the default settings)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
