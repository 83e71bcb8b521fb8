"""Bedrock calls of the query function and the shape of what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from query.guardrail import Guardrail
from query.request import Mode, QueryRequest

# Keys Bedrock adds to every chunk's metadata; callers see the documents' own attributes.
_BEDROCK_KEY_PREFIXES = ("x-amz-bedrock-kb-", "AMAZON_BEDROCK_")


@dataclass(frozen=True)
class Generation:
    model_arn: str
    temperature: float | None = None
    max_tokens: int | None = None
    prompt_template: str | None = None
    guardrail: Guardrail | None = None
    query_decomposition: bool = False
    session_key_arn: str | None = None

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
        if self.guardrail:
            configuration["guardrailConfiguration"] = self.guardrail.configuration()
        return configuration


@dataclass(frozen=True)
class Retrieval:
    """How vector search runs: reranking and implicit filters, each off unless configured."""

    reranking_model_arn: str | None = None
    reranking_candidates: int | None = None
    implicit_filter_attributes: tuple[dict[str, str], ...] = ()
    implicit_filter_model_arn: str | None = None

    def vector_search(self, number_of_results: int, search_filter: dict[str, Any] | None) -> dict[str, Any]:
        search: dict[str, Any] = {"numberOfResults": number_of_results}
        if search_filter is not None:
            # Bedrock applies this filter whatever the model infers: the enforced audience always holds.
            search["filter"] = search_filter
        if self.reranking_model_arn:
            # Search returns more candidates than asked for; the reranker keeps the best number_of_results.
            search["numberOfResults"] = max(self.reranking_candidates or number_of_results, number_of_results)
            search["rerankingConfiguration"] = {
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "modelConfiguration": {"modelArn": self.reranking_model_arn},
                    "numberOfRerankedResults": number_of_results,
                },
            }
        if self.implicit_filter_attributes and self.implicit_filter_model_arn:
            search["implicitFilterConfiguration"] = {
                "metadataAttributes": list(self.implicit_filter_attributes),
                "modelArn": self.implicit_filter_model_arn,
            }
        return {"vectorSearchConfiguration": search}


def retrieve_and_generate_request(
    request: QueryRequest, search_filter: dict[str, Any] | None, knowledge_base_id: str, generation: Generation,
    retrieval: Retrieval,
) -> dict[str, Any]:  # fmt: skip
    knowledge_base: dict[str, Any] = {
        "knowledgeBaseId": knowledge_base_id,
        "modelArn": generation.model_arn,
        "retrievalConfiguration": retrieval.vector_search(request.number_of_results, search_filter),
    }
    if generation.configuration():
        knowledge_base["generationConfiguration"] = generation.configuration()
    if generation.query_decomposition:
        knowledge_base["orchestrationConfiguration"] = {
            "queryTransformationConfiguration": {"type": "QUERY_DECOMPOSITION"}
        }
    parameters: dict[str, Any] = {
        "input": {"text": request.question},
        "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": knowledge_base},
    }
    if request.session_id:
        parameters["sessionId"] = request.session_id
    if generation.session_key_arn:
        parameters["sessionConfiguration"] = {"kmsKeyArn": generation.session_key_arn}
    return parameters


def retrieve_request(
    request: QueryRequest, search_filter: dict[str, Any] | None, knowledge_base_id: str, retrieval: Retrieval
) -> dict[str, Any]:
    return {
        "knowledgeBaseId": knowledge_base_id,
        "retrievalQuery": {"text": request.question},
        "retrievalConfiguration": retrieval.vector_search(request.number_of_results, search_filter),
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
    shaped: dict[str, Any] = {
        "answer": response.get("output", {}).get("text", ""),
        "citations": list(citations.values()),
        "sessionId": response.get("sessionId", ""),
    }
    if "guardrailAction" in response:
        shaped["guardrail"] = {"action": response["guardrailAction"]}  # INTERVENED: the answer is what it allowed
    return shaped


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
    generation: Generation, retrieval: Retrieval, on_text: Callable[[str], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Retrieve, or RetrieveAndGenerate; with ``on_text``, RetrieveAndGenerateStream, its text given to ``on_text``
    piece by piece. Either way the result has the same shape."""
    if request.mode is Mode.RETRIEVE:
        parameters = retrieve_request(request, search_filter, knowledge_base_id, retrieval)
        return shape_retrieval(runtime.retrieve(**parameters))
    parameters = retrieve_and_generate_request(request, search_filter, knowledge_base_id, generation, retrieval)
    if on_text is None:
        return shape_generation(runtime.retrieve_and_generate(**parameters))
    return shape_generation(streamed(runtime.retrieve_and_generate_stream(**parameters), on_text))


def streamed(response: dict[str, Any], on_text: Callable[[str], None]) -> dict[str, Any]:
    """RetrieveAndGenerateStream's events as RetrieveAndGenerate's response; each piece of text goes to ``on_text``
    as it arrives. A failure in the middle of the stream (an exception event) raises botocore's EventStreamError."""
    text: list[str] = []
    citations: list[dict[str, Any]] = []
    assembled: dict[str, Any] = {"sessionId": response.get("sessionId", "")}
    stream = response["stream"]
    try:
        for event in stream:
            if "output" in event:
                piece = str(event["output"].get("text", ""))
                text.append(piece)
                if piece:
                    on_text(piece)
            elif "citation" in event:
                cited = event["citation"]
                legacy = cited.get("citation") or {}  # the deprecated member, with the same two fields
                part = cited.get("generatedResponsePart") or legacy.get("generatedResponsePart", {})
                references = cited.get("retrievedReferences") or legacy.get("retrievedReferences", [])
                citations.append({"generatedResponsePart": part, "retrievedReferences": references})
            elif "guardrail" in event:
                assembled["guardrailAction"] = event["guardrail"].get("action")
    finally:
        stream.close()  # also when on_text stops the answer: the caller has gone
    return {**assembled, "output": {"text": "".join(text)}, "citations": citations}
