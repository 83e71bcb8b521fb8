"""Upload your own documents (and their ``.metadata.json`` sidecars) to the deployed document bucket.

    python -m scripts.upload_documents DIR [--dry-run]        (make upload DIR=...)

The sidecars are checked first (``scripts.check_sidecars``): a folder with a problem uploads nothing. Every
file under DIR goes to ``s3://<DocumentBucketName>/<documentPrefix><path under DIR>``; the bucket's change
events then start one ingestion job (``make sync`` starts one at once and follows it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts.check_sidecars import check_folder
from scripts.deployed import stack_output
from scripts.operator_cli import EXIT_OK, EXIT_USAGE, Operator, OperatorError, add_common_arguments, run


def upload(arguments: argparse.Namespace, operator: Operator) -> int:
    folder: Path = arguments.dir
    if not folder.is_dir():
        raise OperatorError(f"{folder} is not a folder", "give the folder of your documents: make upload DIR=...",
                            EXIT_USAGE)  # fmt: skip
    problems = check_folder(folder)
    if problems:
        raise OperatorError(f"{len(problems)} sidecar problem(s), nothing uploaded; the first: {problems[0]}",
                            f"python -m scripts.check_sidecars {folder} lists them all", EXIT_USAGE)  # fmt: skip
    files = sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))
    if not files:
        raise OperatorError(f"{folder} holds no files", "put your documents (and sidecars) in it", EXIT_USAGE)
    bucket = stack_output(operator.client("cloudformation"), operator.settings.stack_name("storage"),
                          "DocumentBucketName")  # fmt: skip
    prefix = operator.settings.storage.document_prefix
    s3 = operator.client("s3")
    for path in files:
        key = prefix + path.relative_to(folder).as_posix()
        if not arguments.dry_run:
            s3.upload_file(str(path), bucket, key)
        print(f"{'would upload' if arguments.dry_run else 'uploaded'} {path} -> s3://{bucket}/{key}")
    sidecars = sum(path.name.endswith(".metadata.json") for path in files)
    verb = "would upload" if arguments.dry_run else "uploaded"
    print(f"{verb} {len(files)} file(s), {sidecars} of them sidecars; the knowledge base syncs them shortly "
          "(or now: make sync)")  # fmt: skip
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, help="the folder of your documents and their .metadata.json sidecars")
    parser.add_argument("--dry-run", action="store_true", help="check and list, upload nothing")
    add_common_arguments(parser)
    return parser


def main(argv: list[str] | None = None, operator: Operator | None = None) -> int:
    return run(parser(), upload, argv, operator)


if __name__ == "__main__":
    raise SystemExit(main())
