"""Show the document the stream's mapping makes of its example, as the stream function would make it.

    python -m scripts.preview_document [-c app:key=value ...]        (make preview)

The mapping (``app:streamDocument`` in cdk.json, or ``-c``) is checked as synthesis checks it; its ``example`` is
encoded as a producer sends it, decoded, and rendered: the document ID, the text and the metadata, the built-in
topic, partition and offset included. A tombstone of the example's key shows what deleting it would do. No AWS.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence

from scripts.deployed import settings_with
from stacks.settings import SettingsError
from stream_ingest.formats import Decoder, encode_value
from stream_ingest.mapping import built_in_metadata
from stream_ingest.records import Coordinates, KafkaRecord, PoisonRecord, document_part

EXAMPLE_KEY = "example-key"


def preview(mapping_source: dict[str, object], topic: str) -> str:
    from stream_ingest.mapping import parse_mapping

    mapping = parse_mapping(mapping_source)
    where = Coordinates(topic=topic, partition=0, offset=0)
    example = mapping.source.get("example")
    if example is None:
        return 'The mapping has no "example": give streamDocument one to see the document it makes.'
    decoder = Decoder(mapping)
    key = base64.b64encode(EXAMPLE_KEY.encode()).decode()
    value = base64.b64encode(encode_value(mapping, example)).decode()
    record = KafkaRecord(coordinates=where, value=value, timestamp_ms=1771151400000, key=key)
    part = document_part(record, decoder)
    metadata = {**part.metadata, **built_in_metadata(where.topic, where.partition, where.offset)}
    lines = [
        f"Document ID: {part.document_id}",
        "Text:",
        *(f"  {line}" for line in part.text.splitlines()),
        "Metadata:",
        *(f"  {name}: {json.dumps(item, ensure_ascii=False)}" for name, item in metadata.items()),
    ]
    try:
        deleted = document_part(KafkaRecord(coordinates=where, value=None, timestamp_ms=None, key=key), decoder)
        lines.append(f"A tombstone of key {EXAMPLE_KEY!r} deletes {deleted.document_id}.")
    except PoisonRecord as refusal:
        lines.append(f"A tombstone is dead-lettered: {refusal}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.preview_document", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("-c", "--context", action="append", default=[], help="app:key=value, as with cdk -c")
    arguments = parser.parse_args(argv)
    try:
        settings = settings_with(arguments.context)
    except SettingsError as error:
        print(f"error: {error}\n  fix: fix streamDocument (docs/streaming.md), in cdk.json or -c", file=sys.stderr)
        return 2
    print(preview(dict(settings.stream.document), settings.kafka.topic_name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
