from __future__ import annotations

import csv
import json
from pathlib import Path

import docx
import openpyxl
import pytest
from pypdf import PdfReader

from scripts.check_sidecars import check_folder, check_sidecar, custom_metadata_bytes
from scripts.make_sample_documents import DOCUMENTS, DOCUMENTS_DIR, write_all

EXPECTED = {
    "aurora_company_profile.pdf": (1736640000, "company-profile,overview", False),
    "aurora_operational_metrics.xlsx": (1743811200, "metrics,operations", True),
    "aurora_press_announcement.txt": (1751414400, "press,announcement", False),
    "aurora_security_brief.pdf": (1750377600, "security,governance", True),
    "aurora_solution_catalog.docx": (1742256000, "services,catalog", False),
}


def attributes(file_name: str) -> dict[str, dict[str, object]]:
    sidecar = json.loads((DOCUMENTS_DIR / f"{file_name}.metadata.json").read_text())
    return {key: value["value"] for key, value in sidecar["metadataAttributes"].items()}


def test_every_document_has_a_valid_sidecar() -> None:
    assert check_folder(DOCUMENTS_DIR) == []
    files = sorted(path.name for path in DOCUMENTS_DIR.iterdir())
    assert files == sorted([*EXPECTED, *(f"{name}.metadata.json" for name in EXPECTED)])


@pytest.mark.parametrize("file_name", sorted(EXPECTED))
def test_sidecar_values_are_typed_as_the_filters_need(file_name: str) -> None:
    published_at, tags, is_internal = EXPECTED[file_name]
    values = attributes(file_name)
    assert values["domain"] == {"type": "STRING", "stringValue": "auroradynamics.com"}
    assert values["tags"] == {"type": "STRING", "stringValue": tags}
    assert values["is_internal"] == {"type": "BOOLEAN", "booleanValue": is_internal}
    assert values["published_at"] == {"type": "NUMBER", "numberValue": published_at}
    sidecar = json.loads((DOCUMENTS_DIR / f"{file_name}.metadata.json").read_text())["metadataAttributes"]
    assert custom_metadata_bytes(sidecar) < 1024


def test_committed_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    for path in write_all(tmp_path):
        assert path.read_bytes() == (DOCUMENTS_DIR / path.name).read_bytes(), path.name


def test_documents_are_real_files_with_the_facts() -> None:
    profile = PdfReader(DOCUMENTS_DIR / "aurora_company_profile.pdf").pages[0].extract_text()
    assert all(fact in profile for fact in ("Seattle", "Dublin", "Singapore", "Toronto", "biopharma"))
    brief = PdfReader(DOCUMENTS_DIR / "aurora_security_brief.pdf").pages[0].extract_text()
    assert all(fact in brief for fact in ("zero-trust", "Well-Architected", "GuardDuty", "Security Lake"))
    sheet = openpyxl.load_workbook(DOCUMENTS_DIR / "aurora_operational_metrics.xlsx").active
    assert sheet is not None
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[1][:3] == ["North America", 86, "21%"] and rows[4][:3] == ["LATAM", 22, "15%"]
    catalog = [p.text for p in docx.Document(str(DOCUMENTS_DIR / "aurora_solution_catalog.docx")).paragraphs]
    assert {"LaunchPad Migration", "Data Fabric Suite", "Intelligent Ops"} <= set(catalog)
    press = (DOCUMENTS_DIR / "aurora_press_announcement.txt").read_text()
    assert all(fact in press for fact in ("geospatial analytics", "IoT telemetry", "AI-assisted forecasting"))


def test_ticker_test_data_has_17_rows_with_prices_as_strings() -> None:
    with (DOCUMENTS_DIR.parent / "TestData.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 17
    assert {"ticker": "ZVZZT", "price": "$3,413.23"} in rows
    assert rows[0] == {"ticker": "OOOO", "price": "$44.50"}


def write_sidecar(folder: Path, content: object, document: str = "doc.txt") -> Path:
    (folder / document).write_text("text")
    path = folder / f"{document}.metadata.json"
    path.write_text(json.dumps(content))
    return path


def typed(value: dict[str, object], embed: bool = False) -> dict[str, object]:
    return {"value": value, "includeForEmbedding": embed}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"attributes": {}}, "top level must be exactly"),
        ({"metadataAttributes": {}}, "non-empty object"),
        ({"metadataAttributes": {"a": "plain"}}, "expected {\"value\""),
        ({"metadataAttributes": {"a": typed({"type": "DATE", "stringValue": "x"})}}, "not one of"),
        ({"metadataAttributes": {"a": typed({"type": "NUMBER", "stringValue": "1"})}}, "exactly the field numberValue"),
        ({"metadataAttributes": {"a": typed({"type": "STRING", "stringValue": "x" * 2049})}}, "above the maximum 2048"),
        ({"metadataAttributes": {"a": typed({"type": "STRING_LIST", "stringListValue": []})}}, "below the minimum 1"),
        ({"metadataAttributes": {"a": typed({"type": "BOOLEAN", "booleanValue": "yes"})}}, "expected a boolean"),
        ({"metadataAttributes": {"AMAZON_BEDROCK_TEXT": typed({"type": "STRING", "stringValue": "x"})}}, "reserved"),
        ({"metadataAttributes": {f"k{i}": typed({"type": "NUMBER", "numberValue": i}) for i in range(36)}},
         "36 keys"),
        ({"metadataAttributes": {f"k{i}": typed({"type": "STRING", "stringValue": "v" * 300}) for i in range(4)}},
         "bytes of custom metadata"),
    ],
)  # fmt: skip
def test_invalid_sidecars_are_reported(tmp_path: Path, content: object, problem: str) -> None:
    problems = check_sidecar(write_sidecar(tmp_path, content))
    assert any(problem in line for line in problems), problems


def test_sidecar_without_document_and_oversized(tmp_path: Path) -> None:
    path = tmp_path / "missing.pdf.metadata.json"
    path.write_text(json.dumps({"metadataAttributes": {"a": typed({"type": "STRING", "stringValue": "x" * 11000})}}))
    problems = check_sidecar(path)
    assert any("no document missing.pdf" in p for p in problems)
    assert any("10240-byte limit" in p for p in problems)


def test_generator_covers_every_expected_document() -> None:
    assert {document.file_name for document in DOCUMENTS} == set(EXPECTED)


def test_the_sidecar_check_counts_what_it_checked_and_refuses_a_missing_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from scripts.check_sidecars import main

    assert main([str(DOCUMENTS_DIR)]) == 0
    assert capsys.readouterr().out.strip() == f"checked {len(DOCUMENTS)} sidecar(s) in {DOCUMENTS_DIR}: no problems"
    assert main([str(tmp_path / "nonexistent")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as help_exit:
        main(["--help"])
    assert help_exit.value.code == 0 and "metadata.json" in capsys.readouterr().out
