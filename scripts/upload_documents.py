"""Upload your own documents (and their ``.metadata.json`` sidecars) to the deployed document bucket.

    python -m scripts.upload_documents DIR [--dry-run]        (make upload DIR=...)

The sidecars are checked first (``scripts.check_sidecars``): a folder with a problem uploads nothing. Every
regular file under DIR goes to ``s3://<DocumentBucketName>/<documentPrefix><path under DIR>``; hidden files and
folders (``.git/``, ``.env``) and symbolic links are skipped and listed, so nothing outside DIR is read. The
bucket's change events then start one ingestion job (``make sync`` starts one at once and follows it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts.check_sidecars import check_folder, list_folder
from scripts.deployed import stack_output
from scripts.operator_cli import EXIT_OK, EXIT_USAGE, Operator, OperatorError, add_common_arguments, explain, run


def upload(arguments: argparse.Namespace, operator: Operator) -> int:
    folder: Path = arguments.dir
    if not folder.is_dir():
        raise OperatorError(f"{folder} is not a folder", "give the folder of your documents: make upload DIR=...",
                            EXIT_USAGE)  # fmt: skip
    problems = check_folder(folder)
    if problems:
        raise OperatorError(f"{len(problems)} sidecar problem(s), nothing uploaded; the first: {problems[0]}",
                            f"python -m scripts.check_sidecars {folder} lists them all", EXIT_USAGE)  # fmt: skip
    listing = list_folder(folder)
    for path, why in listing.skipped:
        print(f"skipped {folder / path.relative_to(folder.resolve())} ({why})")
    files = listing.files
    if not files:
        raise OperatorError(f"{folder} holds no files", "put your documents (and sidecars) in it", EXIT_USAGE)
    prefix = operator.settings.storage.document_prefix
    bucket = _bucket(operator) if not arguments.dry_run else _bucket_if_known(operator)
    for path in files:
        relative = path.relative_to(folder.resolve())
        key = prefix + relative.as_posix()
        target = f"s3://{bucket}/{key}" if bucket else key
        if bucket and not arguments.dry_run:
            operator.client("s3").upload_file(str(path), bucket, key)
        print(f"{'would upload' if arguments.dry_run else 'uploaded'} {folder / relative} -> {target}")
    sidecars = sum(path.name.endswith(".metadata.json") for path in files)
    verb = "would upload" if arguments.dry_run else "uploaded"
    skipped = f", skipped {len(listing.skipped)}" if listing.skipped else ""
    print(f"{verb} {len(files)} file(s), {sidecars} of them sidecars{skipped}; the knowledge base syncs them "
          "shortly (or now: make sync)")  # fmt: skip
    return EXIT_OK


def _bucket(operator: Operator) -> str:
    return stack_output(operator.client("cloudformation"), operator.settings.stack_name("storage"),
                        "DocumentBucketName")  # fmt: skip


def _bucket_if_known(operator: Operator) -> str | None:
    """A dry run names the deployed bucket when AWS can say which it is, and lists the keys offline otherwise."""
    try:
        return _bucket(operator)
    except Exception as error:  # no Region, no credentials, not deployed: the check and the list still stand
        print(f"the bucket is not looked up ({explain(error).problem}); keys are listed under the document prefix")
        return None


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, help="the folder of your documents and their .metadata.json sidecars")
    parser.add_argument("--dry-run", action="store_true", help="check and list, upload nothing (works without AWS)")
    add_common_arguments(parser)
    return parser


def main(argv: list[str] | None = None, operator: Operator | None = None) -> int:
    return run(parser(), upload, argv, operator, offline=lambda arguments: bool(arguments.dry_run))


if __name__ == "__main__":
    raise SystemExit(main())
