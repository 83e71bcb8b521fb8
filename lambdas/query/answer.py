"""Bedrock calls of the query function and the shape of what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from query.request import Mode, QueryRequest

# Keys Bedrock adds to every chunk's metadata; callers see the documents' own attributes.
_BEDROCK_KEY_PREFIXES = ("x-amz-bedrock-kb-", "AMAZON_BEDROCK_")


@dataclass(frozen=True)
class Generation:
    model_arn: str
    temperature: float | None = None
    max_tokens: int | None = None
    prompt_template: str | None = None

    def configuration(self) -> dict[str, Any]:
        configuration: dict[str, Any] = {}
        inference = {
            name: value
            for name, value in (("temperature", self.temperature), ("maxTokens", self.max_tokens))
            if value is not None
        }
        if inference:
            configuration["inferenceConfig"] = {"textInferenceConfig": inference}
        if self.prompt_template:
            configuration["promptTemplate"] = {"textPromptTemplate": self.prompt_template}
        return configuration


def _vector_search(request: QueryRequest, search_filter: dict[str, Any] | None) -> dict[str, Any]:
    search: dict[str, Any] = {"numberOfResults": request.number_of_results}
    if search_filter is not None:
        search["filter"] = search_filter
    return {"vectorSearchConfiguration": search}


def retrieve_and_generate_request(
    request: QueryRequest, search_filter: dict[str, Any] | None, knowledge_base_id: str, generation: Generation
) -> dict[str, Any]:
    knowledge_base: dict[str, Any] = {
        "knowledgeBaseId": knowledge_base_id,
        "modelArn": generation.model_arn,
        "retrievalConfiguration": _vector_search(request, search_filter),
    }
    if generation.configuration():
        knowledge_base["generationConfiguration"] = generation.configuration()
    parameters: dict[str, Any] = {
        "input": {"text": request.question},
        "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": knowledge_base},
    }
    if request.session_id:
        parameters["sessionId"] = request.session_id
    return parameters


def retrieve_request(
    request: QueryRequest, search_filter: dict[str, Any] | None, knowledge_base_id: str
) -> dict[str, Any]:
    return {
        "knowledgeBaseId": knowledge_base_id,
        "retrievalQuery": {"text": request.question},
        "retrievalConfiguration": _vector_search(request, search_filter),
    }


def source_uri(location: dict[str, Any]) -> str:
    """An S3 document's URI, or a stream document's ID."""
    if "s3Location" in location:
        return str(location["s3Location"].get("uri", ""))
    if "customDocumentLocation" in location:
        return str(location["customDocumentLocation"].get("id", ""))
    for value in location.values():  # other connectors: the first URL-like field
        if isinstance(value, dict) and isinstance(value.get("url") or value.get("uri"), str):
            return str(value.get("url") or value.get("uri"))
    return str(location.get("type", "unknown"))


def document_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (metadata or {}).items() if not key.startswith(_BEDROCK_KEY_PREFIXES)}


def shape_generation(response: dict[str, Any]) -> dict[str, Any]:
    """Answer text, each cited source once in order of first citation, and the session to continue."""
    citations: dict[str, dict[str, Any]] = {}
    for citation in response.get("citations", []):
        for reference in citation.get("retrievedReferences", []):
            uri = source_uri(reference.get("location", {}))
            if uri not in citations:
                citations[uri] = {
                    "uri": uri,
                    "excerpt": reference.get("content", {}).get("text", ""),
                    "metadata": document_metadata(reference.get("metadata")),
                }
    return {
        "answer": response.get("output", {}).get("text", ""),
        "citations": list(citations.values()),
        "sessionId": response.get("sessionId", ""),
    }


def shape_retrieval(response: dict[str, Any]) -> dict[str, Any]:
    return {
        "results": [
            {
                "uri": source_uri(result.get("location", {})),
                "excerpt": result.get("content", {}).get("text", ""),
                "score": result.get("score"),
                "metadata": document_metadata(result.get("metadata")),
            }
            for result in response.get("retrievalResults", [])
        ]
    }


def ask(
    runtime: Any, request: QueryRequest, search_filter: dict[str, Any] | None, knowledge_base_id: str,
    generation: Generation,
) -> dict[str, Any]:  # fmt: skip
    if request.mode is Mode.RETRIEVE:
        return shape_retrieval(runtime.retrieve(**retrieve_request(request, search_filter, knowledge_base_id)))
    parameters = retrieve_and_generate_request(request, search_filter, knowledge_base_id, generation)
    return shape_generation(runtime.retrieve_and_generate(**parameters))
