"""Checks ``<document>.metadata.json`` sidecars before they reach the knowledge base.

Limits enforced (Bedrock Knowledge Bases with an S3 Vectors store):
* a sidecar file is at most 10 KB and sits next to an existing document;
* it holds ``{"metadataAttributes": {...}}`` in Bedrock's typed form, each value a valid
  ``MetadataAttributeValue`` of the bedrock-agent API model;
* at most 35 custom keys and 1 KB of custom metadata per vector (S3 Vectors through Bedrock);
* strings at most 2,048 characters, string lists 1-10 items;
* no key in Bedrock's reserved namespace.

Run it over folders (or single sidecars) with ``python -m scripts.check_sidecars sample_data/documents``;
``--help`` says the same. A path that does not exist is an error (exit 2), problems are exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.sdk_model import service_model, validate_value
from stream_ingest.mapping import MAX_METADATA_BYTES as MAX_CUSTOM_METADATA_BYTES
from stream_ingest.mapping import MAX_METADATA_KEYS as MAX_CUSTOM_KEYS
from stream_ingest.mapping import RESERVED_KEY_PREFIXES

SIDECAR_SUFFIX = ".metadata.json"
MAX_SIDECAR_BYTES = 10 * 1024
_VALUE_FIELDS = {"STRING": "stringValue", "NUMBER": "numberValue", "BOOLEAN": "booleanValue",
                 "STRING_LIST": "stringListValue"}  # fmt: skip


def custom_metadata_bytes(attributes: dict[str, Any]) -> int:
    """Size of the custom metadata as stored with each vector: keys plus their plain values."""
    total = 0
    for key, attribute in attributes.items():
        value = attribute["value"][_VALUE_FIELDS[attribute["value"]["type"]]]
        total += len(key.encode()) + len(json.dumps(value, ensure_ascii=False).encode())
    return total


def check_sidecar(path: Path) -> list[str]:
    """Every problem with one sidecar; empty when it is valid."""
    problems: list[str] = []
    if not path.name.endswith(SIDECAR_SUFFIX):
        return [f"{path.name}: a sidecar's name ends with {SIDECAR_SUFFIX}"]
    document = path.with_name(path.name.removesuffix(SIDECAR_SUFFIX))
    if not document.is_file():
        problems.append(f"{path.name}: no document {document.name} next to it")
    size = path.stat().st_size
    if size > MAX_SIDECAR_BYTES:
        problems.append(f"{path.name}: {size} bytes, above the {MAX_SIDECAR_BYTES}-byte limit")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return [*problems, f"{path.name}: not valid UTF-8 JSON ({error})"]
    if not isinstance(content, dict) or set(content) != {"metadataAttributes"}:
        return [*problems, f'{path.name}: the top level must be exactly {{"metadataAttributes": {{...}}}}']
    attributes = content["metadataAttributes"]
    if not isinstance(attributes, dict) or not attributes:
        return [*problems, f"{path.name}: metadataAttributes must be a non-empty object"]
    if len(attributes) > MAX_CUSTOM_KEYS:
        problems.append(f"{path.name}: {len(attributes)} keys, above the limit of {MAX_CUSTOM_KEYS}")

    value_shape = service_model("bedrock-agent").shape_for("MetadataAttributeValue")
    typed_ok = True
    for key, attribute in attributes.items():
        where = f"{path.name}: {key}"
        if not key or key.startswith(RESERVED_KEY_PREFIXES):
            problems.append(f"{where}: the key is empty or reserved by Bedrock")
        if (
            not isinstance(attribute, dict)
            or not set(attribute) <= {"value", "includeForEmbedding"}
            or ("value" not in attribute)
        ):
            problems.append(f'{where}: expected {{"value": {{...}}, "includeForEmbedding": bool}}')
            typed_ok = False
            continue
        if not isinstance(attribute.get("includeForEmbedding", False), bool):
            problems.append(f"{where}: includeForEmbedding must be a boolean")
        errors: list[str] = []
        validate_value(value_shape, attribute["value"], where, errors)
        problems += errors
        value = attribute["value"]
        if isinstance(value, dict) and value.get("type") in _VALUE_FIELDS:
            expected = _VALUE_FIELDS[value["type"]]
            present = set(value) - {"type"}
            if present != {expected}:
                problems.append(f"{where}: type {value['type']} takes exactly the field {expected}")
                typed_ok = False
        else:
            typed_ok = False
    if typed_ok:
        size = custom_metadata_bytes(attributes)
        if size > MAX_CUSTOM_METADATA_BYTES:
            problems.append(f"{path.name}: {size} bytes of custom metadata, above {MAX_CUSTOM_METADATA_BYTES}")
    return problems


@dataclass(frozen=True)
class FolderListing:
    """The files of a folder that may be uploaded, and what was passed over (with why)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _skip_reason(path: Path, kind: str) -> str | None:
    if path.name.startswith("."):
        return f"hidden {kind}"
    if path.is_symlink():
        return "symbolic link"
    if kind == "file" and not path.is_file():
        return "not a regular file"
    return None


def list_folder(folder: Path) -> FolderListing:
    """Regular files under ``folder``, never outside it: symbolic links (to files or folders) and hidden paths
    (``.git/``, ``.aws/credentials``, ``.env``) are skipped, since what lands in the document bucket can be read
    back by anyone who may ask the knowledge base."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for directory, folders, names in os.walk(folder.resolve(), followlinks=False):
        here = Path(directory)
        kept_folders = []
        for kind, entries in (("folder", folders), ("file", names)):
            for name in entries:
                reason = _skip_reason(here / name, kind)
                if reason:
                    skipped.append((here / name, reason))
                elif kind == "folder":
                    kept_folders.append(name)
                else:
                    files.append(here / name)
        folders[:] = kept_folders  # os.walk descends only into these
    return FolderListing(sorted(files), sorted(skipped))


def sidecars_in(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [file for file in list_folder(path).files if file.name.endswith(SIDECAR_SUFFIX)]


def check_folder(folder: Path) -> list[str]:
    return [problem for path in sidecars_in(folder) for problem in check_sidecar(path)]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.check_sidecars", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("sample_data/documents")],
        help="folders to search for *.metadata.json, or sidecar files (default: the samples)",
    )
    paths: list[Path] = parser.parse_args(argv).paths
    missing = [path for path in paths if not path.exists()]
    if missing:
        print(f"error: {', '.join(map(str, missing))}: no such file or folder\n"
              "  fix: name the folders of your documents and their sidecars", file=sys.stderr)  # fmt: skip
        return 2
    sidecars = [sidecar for path in paths for sidecar in sidecars_in(path)]
    problems = [problem for sidecar in sidecars for problem in check_sidecar(sidecar)]
    for problem in problems:
        print(problem, file=sys.stderr)
    verdict = "no problems" if not problems else f"{len(problems)} problem(s)"
    print(f"checked {len(sidecars)} sidecar(s) in {', '.join(map(str, paths))}: {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
