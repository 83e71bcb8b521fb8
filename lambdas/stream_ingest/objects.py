"""The bulk path's objects: where each document goes under the stream prefix, and what it and its sidecar hold.

One object per document ID, overwritten by the ID's next record, deleted by its tombstone; the sidecar types the
metadata as the direct path does. Per-record IDs whose metadata are all declared strings go in groups instead: the
records of one partition become CSV objects of rows, named by their offsets (Bedrock reads a CSV row's metadata as
strings, so only such mappings keep their types in a row). Design and numbers: docs/bulk-path.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from stream_ingest.contract import STREAM_OBJECT_PREFIX
from stream_ingest.documents import StreamDocument, typed_value
from stream_ingest.mapping import AttributeType, AttributeValue, DocumentMapping, IdKind, as_text

DOCUMENTS_PREFIX = f"{STREAM_OBJECT_PREFIX}documents/"
RECORD_GROUPS_PREFIX = f"{STREAM_OBJECT_PREFIX}records/"
SIDECAR_SUFFIX = ".metadata.json"  # Bedrock reads <object>.metadata.json as the object's metadata
ROWS_PER_OBJECT = 1_000  # one CSV object: at most this many records...
MAX_OBJECT_CHARACTERS = 5 * 1024 * 1024  # ...and this much text (Bedrock takes files of up to 50 MB)
_MAX_ENCODED_ID_CHARACTERS = 512  # an S3 key holds 1,024 bytes; a longer ID is named by its digest
_BUILT_IN_COLUMNS = ("topic", "partition", "offset")


@dataclass(frozen=True)
class StreamObject:
    key: str
    body: bytes
    sidecar: bytes
    content_type: str
    documents: tuple[StreamDocument, ...]  # what the object holds: one document, or one per CSV row

    @property
    def sidecar_key(self) -> str:
        return self.key + SIDECAR_SUFFIX


def document_key(document_id: str) -> str:
    """The object of a document ID: spread over 256 key ranges by the ID's digest, named by the ID when it fits."""
    digest = hashlib.sha256(document_id.encode()).hexdigest()
    encoded = quote(document_id, safe="")
    name = encoded if len(encoded) <= _MAX_ENCODED_ID_CHARACTERS else digest
    return f"{DOCUMENTS_PREFIX}{digest[:2]}/{name}.txt"


def document_object(document: StreamDocument) -> StreamObject:
    sidecar = {"metadataAttributes": {name: {"value": typed_value(value), "includeForEmbedding": False}
                                      for name, value in document.attributes.items()}}  # fmt: skip
    return StreamObject(key=document_key(document.document_id), body=document.text.encode(),
                        sidecar=json.dumps(sidecar, separators=(",", ":")).encode(),
                        content_type="text/plain; charset=utf-8", documents=(document,))  # fmt: skip


def deletion_keys(document_ids: Sequence[str]) -> list[str]:
    """A tombstone's objects: the document and its sidecar."""
    return [key for document_id in document_ids for key in (document_key(document_id),
                                                             document_key(document_id) + SIDECAR_SUFFIX)]  # fmt: skip


def groups_records(mapping: DocumentMapping) -> bool:
    """Rows of CSV objects, rather than an object per record: for per-record IDs (nothing replaces or deletes a
    record's document) whose metadata are all declared strings, which is how Bedrock reads a CSV row's."""
    return mapping.id.kind is IdKind.OFFSET and all(item.type is AttributeType.STRING for item in mapping.metadata)


def text_column(mapping: DocumentMapping) -> str:
    """The CSV column of the text: a name no metadata column has."""
    taken = {attribute.name for attribute in mapping.metadata} | set(_BUILT_IN_COLUMNS)
    name = "text"
    while name in taken:
        name = f"_{name}"
    return name


def _cell(value: AttributeValue | None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, float) and value.is_integer():  # the built-in partition and offset: 7, not 7.0
        return str(int(value))
    return as_text(value)


def record_groups(documents: Sequence[StreamDocument], mapping: DocumentMapping) -> Iterator[StreamObject]:
    """CSV objects of at most ROWS_PER_OBJECT rows and MAX_OBJECT_CHARACTERS, per partition, in offset order."""
    content = text_column(mapping)
    columns = [content, *_BUILT_IN_COLUMNS, *(attribute.name for attribute in mapping.metadata)]
    sidecar = json.dumps({
        "metadataAttributes": {},
        "documentStructureConfiguration": {
            "type": "RECORD_BASED_STRUCTURE_METADATA",
            "recordBasedStructureMetadata": {
                "contentFields": [{"fieldName": content}],
                "metadataFieldsSpecification": {"fieldsToInclude": [{"fieldName": name} for name in columns[1:]]},
            },
        },
    }, separators=(",", ":")).encode()  # fmt: skip
    by_partition: dict[tuple[str, int], list[StreamDocument]] = {}
    for document in documents:
        by_partition.setdefault((document.origin.topic, document.origin.partition), []).append(document)
    for (topic, partition), members in sorted(by_partition.items()):
        members.sort(key=lambda document: document.origin.offset)
        group: list[StreamDocument] = []
        buffer, writer = _csv(columns)
        for document in members:
            attributes = document.attributes
            row = [document.text, *(_cell(attributes.get(name)) for name in columns[1:])]
            before = buffer.tell()
            writer.writerow(row)
            if group and (len(group) == ROWS_PER_OBJECT or buffer.tell() > MAX_OBJECT_CHARACTERS):
                buffer.seek(before)
                buffer.truncate()
                yield _group(topic, partition, group, buffer, sidecar)
                group = []
                buffer, writer = _csv(columns)
                writer.writerow(row)
            group.append(document)
        if group:
            yield _group(topic, partition, group, buffer, sidecar)


def _csv(columns: Sequence[str]) -> tuple[io.StringIO, Any]:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, as Bedrock asks
    writer.writerow(columns)
    return buffer, writer


def _group(topic: str, partition: int, group: list[StreamDocument], buffer: io.StringIO,
           sidecar: bytes) -> StreamObject:  # fmt: skip
    first, last = group[0].origin.offset, group[-1].origin.offset
    key = f"{RECORD_GROUPS_PREFIX}{quote(topic, safe='')}/{partition}/{first:020d}-{last:020d}.csv"
    return StreamObject(key=key, body=buffer.getvalue().encode(), sidecar=sidecar,
                        content_type="text/csv; charset=utf-8", documents=tuple(group))  # fmt: skip
