"""The guardrail the query function applies: the app's own (from settings) or an existing one."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_bedrock as bedrock
from constructs import Construct

from stacks.settings import QuerySettings, settings_digest

CONTENT_FILTERS = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK")
# Prompt attacks are user prompts, so the filter judges input only (output strength NONE):
# https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-prompt-attack.html
INPUT_ONLY_FILTERS = frozenset({"PROMPT_ATTACK"})
BLOCKED_MESSAGE = "The knowledge base cannot answer this: the request or its answer was blocked by the guardrail."


class QueryGuardrail(Construct):
    """``guardrail_id`` and ``version`` for the function; ``arn`` for its policy."""

    def __init__(self, scope: Construct, construct_id: str, *, query: QuerySettings, name_prefix: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if query.guardrail == "existing":
            self.guardrail_id, self.version = query.guardrail_id, query.guardrail_version
            self.arn = stack.format_arn(service="bedrock", resource="guardrail", resource_name=query.guardrail_id)
            return
        strength = query.guardrail_content_filter_strength
        policy = {
            "contentPolicyConfig": {
                "filtersConfig": [
                    {"type": kind, "inputStrength": strength,
                     "outputStrength": "NONE" if kind in INPUT_ONLY_FILTERS else strength}
                    for kind in CONTENT_FILTERS
                ]
            },
            "sensitiveInformationPolicyConfig": {
                "piiEntitiesConfig": [{"type": kind, "action": "ANONYMIZE"} for kind in query.guardrail_anonymized_pii]
            },
            "topicPolicyConfig": {
                "topicsConfig": [{"name": name, "definition": definition, "type": "DENY"}
                                 for name, definition in query.guardrail_denied_topics.items()]
            },
        }  # fmt: skip
        policy = {name: config for name, config in policy.items() if next(iter(config.values()))}
        guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=f"{name_prefix}-query",
            description="Guards the knowledge base's answers and the passages it returns",
            blocked_input_messaging=BLOCKED_MESSAGE,
            blocked_outputs_messaging=BLOCKED_MESSAGE,
            content_policy_config=policy.get("contentPolicyConfig"),
            sensitive_information_policy_config=policy.get("sensitiveInformationPolicyConfig"),
            topic_policy_config=policy.get("topicPolicyConfig"),
        )
        # A version is a snapshot: a changed policy must publish a new one, so its description names the policy.
        version = bedrock.CfnGuardrailVersion(
            self,
            "Version",
            guardrail_identifier=guardrail.attr_guardrail_id,
            description=f"Policy {settings_digest(policy)}",
        )
        self.guardrail_id, self.version = guardrail.attr_guardrail_id, version.attr_version
        self.arn = guardrail.attr_guardrail_arn
