"""Alarms and a dashboard for the stream, the document sync and the query path, with SNS notifications."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from index_check import contract as check_contract
from index_check.contract import CheckMetric
from ingestion_jobs import contract as jobs_contract
from ingestion_jobs.contract import JobMetric
from kb_sync import contract as sync_contract
from kb_sync.contract import SyncMetric
from query import contract as query_contract
from query.contract import QueryMetric
from stacks.foundation.checkov import skip_check
from stacks.foundation.nag import acknowledge
from stream_ingest import contract as stream_contract
from stream_ingest.contract import StreamMetric

FIVE_MINUTES = Duration.minutes(5)
# Lambda's OffsetLag: records the mapping has not yet delivered. The sample stream is tiny; a lag this
# large for 15 minutes means the consumer is stuck or far too slow.
OFFSET_LAG_THRESHOLD = 1000
INGEST_RETRIES_THRESHOLD = 20  # botocore retries per 5 minutes: sustained throttling, not a blip
QUERY_LATENCY_P90_MS = 20_000
# Published by a metric filter on the knowledge base's application log, not by a function.
FAILED_INGESTION_JOBS_METRIC = "IngestionJobsFailed"


@dataclass(frozen=True)
class MonitoredResources:
    metrics_namespace: str  # Powertools namespace of the app's functions
    stream_function: lambda_.IFunction
    stream_mapping_id: str  # the MSK event source mapping's UUID: its own metrics carry it
    stream_dead_letters: sqs.IQueue
    sync_function: lambda_.IFunction
    sync_dead_letters: sqs.IQueue
    query_function: lambda_.IFunction
    knowledge_base_log_group_name: str
    freshness_alarm_seconds: int  # p95 from a record's Kafka timestamp to its confirmed indexing
    chat_authorizer: lambda_.IFunction | None = None  # with the chat page: its WebSocket connections' token check
    bulk_path: bool = False  # the stream goes through S3 objects and ingestion jobs (docs/bulk-path.md)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        resources: MonitoredResources,
        email: str,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", display_name=f"{name_prefix} alarms", enforce_ssl=True, master_key=key)
        if key is None:
            acknowledge(
                self.topic,
                "AwsSolutions-SNS2",
                "Alarm notifications carry alarm names and states, no data. CloudWatch cannot publish to a topic "
                "encrypted with the AWS managed SNS key; encryption=customer-managed encrypts it with the app's key.",
            )
            skip_check(self.topic, "CKV_AWS_26", "Alarm notifications carry alarm names and states, no data; "
                       "CloudWatch cannot publish to a topic under the AWS managed SNS key. "
                       "encryption=customer-managed encrypts it with the app's key.")  # fmt: skip
        if email:
            subscription = self.topic.add_subscription(subscriptions.EmailSubscription(email))
            acknowledge(subscription, "Serverless-SNSRedrivePolicy",
                        "An e-mail copy of an alarm: SNS retries its delivery, and the alarm's state and history stay "
                        "in CloudWatch whether or not the message arrives.")  # fmt: skip
        self.alarms: list[cloudwatch.Alarm] = []
        self._resources = resources
        stream, query = resources.stream_function, resources.query_function

        offset_lag = cloudwatch.Metric(
            namespace="AWS/Lambda", metric_name="OffsetLag", statistic="Maximum", period=FIVE_MINUTES,
            dimensions_map={"FunctionName": stream.function_name},
        )  # fmt: skip
        self._alarm("StreamOffsetLag", offset_lag, OFFSET_LAG_THRESHOLD,
                    "The stream consumer is falling behind. A topic past the direct path's 50 documents/s per account "
                    "needs app:streamIngestPath=bulk (S3 objects and ingestion jobs; docs/bulk-path.md)",
                    periods=3)  # fmt: skip
        self._alarm(
            "StreamErrors",
            stream.metric_errors(period=FIVE_MINUTES),
            1,
            "Stream ingest invocations failed (Bedrock kept failing; the mapping retries the batch)",
        )
        self._alarm(
            "StreamThrottles",
            stream.metric_throttles(period=FIVE_MINUTES),
            1,
            "Stream ingest invocations were throttled by Lambda",
        )
        self._alarm(
            "StreamDeadLetters",
            self._visible(resources.stream_dead_letters),
            1,
            "Stream records are in the dead-letter queue (poison, or rejected by Bedrock)",
        )
        self._alarm(
            "SyncDeadLetters",
            self._visible(resources.sync_dead_letters),
            1,
            "Document sync requests are in the dead-letter queue",
        )
        self._alarm(
            "IngestThrottling",
            self._stream_metric(StreamMetric.INGEST_RETRIES),
            INGEST_RETRIES_THRESHOLD,
            "IngestKnowledgeBaseDocuments is being throttled (botocore retries)",
        )
        self._alarm("StreamFreshness", self._check_metric(CheckMetric.FRESHNESS, "p95"),
                    resources.freshness_alarm_seconds,
                    f"Stream records take more than {resources.freshness_alarm_seconds} s to become searchable (p95)",
                    periods=3)  # fmt: skip
        self._alarm("DocumentsNotIndexed", self._check_metric(CheckMetric.DOCUMENTS_NOT_INDEXED), 1,
                    "Stream documents failed to index, or not in time (see the dead-letter queue)")  # fmt: skip
        self._alarm("QueryErrors", query.metric_errors(period=FIVE_MINUTES), 1, "Query invocations failed")
        if resources.chat_authorizer is not None:
            # A refused token is a Deny, not an error: errors mean the check could not run, so nobody can connect.
            self._alarm("ChatAuthorizerErrors", resources.chat_authorizer.metric_errors(period=FIVE_MINUTES), 1,
                        "The chat page's token check failed to run (for example, the issuer's keys could not be "
                        "fetched): connections are refused")  # fmt: skip
        self._alarm(
            "QueryFailures",
            self._query_metric(QueryMetric.FAILED_QUERIES),
            3,
            "Bedrock refused queries (after retries)",
        )
        self._alarm("QueryLatency", query.metric_duration(period=FIVE_MINUTES, statistic="p90"), QUERY_LATENCY_P90_MS,
                    "Answers take longer than 20 s (p90)", periods=3)  # fmt: skip

        # Bedrock writes ingestion-job status changes to the knowledge base's application log.
        failed_jobs = logs.MetricFilter(
            self,
            "FailedIngestionJobs",
            log_group=logs.LogGroup.from_log_group_name(
                self, "KnowledgeBaseLogs", resources.knowledge_base_log_group_name
            ),
            metric_namespace=resources.metrics_namespace,
            metric_name=FAILED_INGESTION_JOBS_METRIC,
            filter_pattern=logs.FilterPattern.all(
                logs.FilterPattern.string_value("$.event_type", "=", "StartIngestionJob.StatusChanged"),
                logs.FilterPattern.string_value("$.event.ingestion_job_status", "=", "FAILED"),
            ),
            metric_value="1",
        )
        self._alarm("IngestionJobsFailed", failed_jobs.metric(statistic="Sum", period=FIVE_MINUTES), 1,
                    "An ingestion job of the documents data source failed")  # fmt: skip

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{name_prefix}-operations")
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=4)
        )
        self.dashboard.add_widgets(
            self._graph("Stream: offset lag", [offset_lag]),
            self._graph("Stream: records", [self._stream_metric(name) for name in
                                            (StreamMetric.RECORDS_RECEIVED, StreamMetric.DOCUMENTS_INGESTED,
                                             StreamMetric.POISON_RECORDS, StreamMetric.DOCUMENTS_FAILED)]),
            self._graph("Stream: S3 writes", [self._stream_metric(StreamMetric.OBJECTS_WRITTEN),
                                              self._stream_metric(StreamMetric.S3_REQUESTS)])
            if resources.bulk_path else
            self._graph("Stream: Bedrock calls", [self._stream_metric(StreamMetric.INGEST_REQUESTS),
                                                  self._stream_metric(StreamMetric.INGEST_RETRIES)]),
        )  # fmt: skip
        if resources.bulk_path:  # the knowledge base's one job at a time, shared by both data sources
            self.dashboard.add_widgets(
                self._graph("Ingestion jobs: started, refused", [
                    self._app_metric(jobs_contract.SERVICE, JobMetric.JOBS_STARTED),
                    self._app_metric(jobs_contract.SERVICE, JobMetric.STARTS_REFUSED)]),
                self._graph("Ingestion jobs: changes waited (s)", [
                    self._app_metric(jobs_contract.SERVICE, JobMetric.WAITED, statistic)
                    for statistic in ("p50", "Maximum")]),
            )  # fmt: skip
        self.dashboard.add_widgets(
            self._graph("Stream: freshness (s)", [self._check_metric(CheckMetric.FRESHNESS, statistic)
                                                  for statistic in ("p50", "p95", "Maximum")]),
            self._graph("Stream: indexing", [self._check_metric(CheckMetric.DOCUMENTS_INDEXED),
                                             self._check_metric(CheckMetric.DOCUMENTS_NOT_INDEXED),
                                             self._check_metric(CheckMetric.CHECKS_REQUEUED)]),
        )  # fmt: skip
        # Every metric the mapping publishes (EventCount, ErrorCount and Kafka metrics), without naming each.
        mapping_metrics = cloudwatch.MathExpression(
            expression="SEARCH('{AWS/Lambda,EventSourceMappingUUID} EventSourceMappingUUID="
            f"\"{resources.stream_mapping_id}\"', 'Sum', 300)",
            label="",
            period=FIVE_MINUTES,
        )
        self.dashboard.add_widgets(
            self._graph("Kafka mapping: events, errors, lag", [mapping_metrics]),
            self._graph("Stream function", [stream.metric_invocations(period=FIVE_MINUTES),
                                            stream.metric_errors(period=FIVE_MINUTES),
                                            stream.metric_throttles(period=FIVE_MINUTES)]),
            self._graph("Dead letters", [self._visible(resources.stream_dead_letters),
                                         self._visible(resources.sync_dead_letters)]),
            self._graph("Document sync", [self._sync_metric(SyncMetric.INGESTION_JOBS_STARTED),
                                          self._sync_metric(SyncMetric.SYNCS_DEFERRED),
                                          failed_jobs.metric(statistic="Sum", period=FIVE_MINUTES)]),
        )  # fmt: skip
        self.dashboard.add_widgets(
            self._graph("Queries", [self._query_metric(name) for name in QueryMetric]),
            self._graph("Query latency", [query.metric_duration(period=FIVE_MINUTES, statistic="p50"),
                                          query.metric_duration(period=FIVE_MINUTES, statistic="p90")]),
            self._graph("Query errors", [query.metric_errors(period=FIVE_MINUTES)]),
        )  # fmt: skip

    def _stream_metric(self, name: StreamMetric) -> cloudwatch.Metric:
        return self._app_metric(stream_contract.SERVICE, name)

    def _check_metric(self, name: CheckMetric, statistic: str = "Sum") -> cloudwatch.Metric:
        return self._app_metric(check_contract.SERVICE, name, statistic)

    def _sync_metric(self, name: SyncMetric) -> cloudwatch.Metric:
        return self._app_metric(sync_contract.SERVICE, name)

    def _query_metric(self, name: QueryMetric) -> cloudwatch.Metric:
        return self._app_metric(query_contract.SERVICE, name)

    def _app_metric(self, service: str, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        """A Powertools metric: the app's namespace, the function's service dimension."""
        return cloudwatch.Metric(
            namespace=self._resources.metrics_namespace, metric_name=name, statistic=statistic, period=FIVE_MINUTES,
            dimensions_map={"service": service},
        )  # fmt: skip

    @staticmethod
    def _visible(queue: sqs.IQueue) -> cloudwatch.Metric:
        return queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum")

    @staticmethod
    def _graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(title=title, left=metrics, width=8, height=6)

    def _alarm(
        self, name: str, metric: cloudwatch.IMetric, threshold: float, description: str, periods: int = 1
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
