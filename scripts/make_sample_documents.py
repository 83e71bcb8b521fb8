"""Writes the Aurora Dynamics sample corpus and its metadata sidecars into sample_data/documents.

Only the standard library is used, and the output is byte-for-byte reproducible, so the committed
files can always be regenerated and compared: ``python -m scripts.make_sample_documents``.
"""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from devtools.generated_files import write_if_changed

DOCUMENTS_DIR = Path(__file__).resolve().parent.parent / "sample_data" / "documents"
DOMAIN = "auroradynamics.com"
_ZIP_DATE = (2025, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SampleDocument:
    file_name: str
    title: str
    tags: str  # one comma-joined string, so that an equals filter can match the whole tag set
    is_internal: bool
    published_at: int  # epoch seconds, a NUMBER attribute so range filters work

    def sidecar(self) -> dict[str, object]:
        """Bedrock's typed sidecar format: explicit types survive into S3 Vectors metadata."""

        def attribute(value: dict[str, object], embed: bool) -> dict[str, object]:
            return {"value": value, "includeForEmbedding": embed}

        return {
            "metadataAttributes": {
                "domain": attribute({"type": "STRING", "stringValue": DOMAIN}, False),
                "title": attribute({"type": "STRING", "stringValue": self.title}, True),
                "tags": attribute({"type": "STRING", "stringValue": self.tags}, False),
                "is_internal": attribute({"type": "BOOLEAN", "booleanValue": self.is_internal}, False),
                "published_at": attribute({"type": "NUMBER", "numberValue": self.published_at}, False),
            }
        }


DOCUMENTS: tuple[SampleDocument, ...] = (
    SampleDocument("aurora_company_profile.pdf", "Aurora Dynamics company profile", "company-profile,overview",
                   False, 1736640000),
    SampleDocument("aurora_operational_metrics.xlsx", "Aurora Dynamics FY25 regional forecast", "metrics,operations",
                   True, 1743811200),
    SampleDocument("aurora_press_announcement.txt", "Aurora Dynamics launches a climate-tech practice",
                   "press,announcement", False, 1751414400),
    SampleDocument("aurora_security_brief.pdf", "Aurora Dynamics security controls brief", "security,governance",
                   True, 1750377600),
    SampleDocument("aurora_solution_catalog.docx", "Aurora Dynamics solution catalog", "services,catalog",
                   False, 1742256000),
)  # fmt: skip

COMPANY_PROFILE = (
    "Aurora Dynamics - Company Profile",
    "",
    "Aurora Dynamics designs and builds secure, AWS-native platforms for organisations",
    "whose business runs on large volumes of data.",
    "",
    "Headquarters: Seattle, Washington.",
    "Delivery centres: Dublin, Singapore and Toronto.",
    "",
    "Industries served: biopharma, retail, and climate-tech logistics.",
    "Engagements cover strategy, migration and managed services, with incident",
    "response available around the clock.",
)

SECURITY_BRIEF = (
    "Aurora Dynamics - Security Controls Brief (internal)",
    "",
    "Our security guild maintains a zero-trust reference architecture that follows",
    "the security pillar of the AWS Well-Architected Framework.",
    "",
    "Governance controls:",
    "- AWS Config conformance packs check every account continuously.",
    "- Amazon GuardDuty is enabled organisation-wide with a delegated administrator.",
    "- Independent penetration tests run every quarter.",
    "- Amazon Security Lake centralises findings and logs for investigations.",
)

PRESS_ANNOUNCEMENT = """\
Aurora Dynamics launches a dedicated climate-tech practice

SEATTLE, July 2, 2025 - Aurora Dynamics today announced a practice devoted to
climate-tech customers. The new team combines geospatial analytics, IoT telemetry
pipelines and AI-assisted forecasting so that logistics operators can plan routes,
energy use and emissions from one data platform on AWS.

The practice is staffed from Seattle and the Dublin, Singapore and Toronto delivery
centres, and is available to new and existing customers immediately.
"""

METRICS_HEADER = ("Region", "FY25 Revenue Target (USD M)", "Projected CAGR", "Primary Offerings")
METRICS_ROWS: tuple[tuple[str, int, str, str], ...] = (
    ("North America", 86, "21%", "LaunchPad Migration, FinOps Studio"),
    ("EMEA", 54, "18%", "Data Fabric Suite, Sovereign Cloud Advisory"),
    ("APAC", 47, "24%", "Smart Factory Edge, Intelligent Ops"),
    ("LATAM", 22, "15%", "Climate Analytics Hub, Managed Services"),
)

CATALOG = (
    ("Aurora Dynamics - Solution Catalog", True),
    ("Modular solution plays that help regulated enterprises adopt AWS faster.", False),
    ("LaunchPad Migration", True),
    ("A phased migration factory built on AWS Control Tower guardrails and infrastructure-as-code "
     "accelerators.", False),
    ("Data Fabric Suite", True),
    ("A multi-zone lakehouse reference built with AWS Glue, AWS Lake Formation and Amazon Redshift "
     "Serverless.", False),
    ("Intelligent Ops", True),
    ("Event-driven runbooks with AI copilots: assistants on Amazon Bedrock help engineers resolve "
     "incidents.", False),
)  # fmt: skip


def pdf_bytes(lines: Sequence[str]) -> bytes:
    """A one-page PDF 1.4 with the lines in Helvetica; offsets in the xref table are exact."""

    def pdf_text(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 12 Tf 16 TL 72 740 Td\n" + "".join(f"({pdf_text(line)}) '\n" for line in lines) + "ET\n"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}endstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _zip(path: Path, parts: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    write_if_changed(path, buffer.getvalue())


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def write_docx(path: Path, paragraphs: Sequence[tuple[str, bool]]) -> None:
    """A minimal WordprocessingML package: one body of paragraphs, headings in bold."""
    word = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(
        f"<w:p><w:r>{'<w:rPr><w:b/></w:rPr>' if bold else ''}<w:t>{escape(text)}</w:t></w:r></w:p>"
        for text, bold in paragraphs
    )
    _zip(
        path,
        {
            "[Content_Types].xml": _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
            "_rels/.rels": _XML + f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
            f'Type="{_DOC_REL}/officeDocument" Target="word/document.xml"/></Relationships>',
            "word/document.xml": _XML + f'<w:document xmlns:w="{word}"><w:body>{body}</w:body></w:document>',
        },
    )


def write_xlsx(path: Path, sheet_name: str, header: Sequence[str], rows: Sequence[Sequence[str | int]]) -> None:
    """A minimal SpreadsheetML package with one sheet of inline strings and numbers."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    def cell(column: int, row: int, value: str | int) -> str:
        ref = f"{chr(ord('A') + column)}{row}"
        if isinstance(value, int):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'

    sheet_rows = "".join(
        f'<row r="{r}">' + "".join(cell(c, r, value) for c, value in enumerate(values)) + "</row>"
        for r, values in enumerate([header, *rows], start=1)
    )
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    _zip(
        path,
        {
            "[Content_Types].xml": _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{content_type}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{content_type}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{content_type}.styles+xml"/></Types>',
            "_rels/.rels": _XML + f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
            f'Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            "xl/workbook.xml": _XML + f'<workbook xmlns="{main}" xmlns:r="{_DOC_REL}"><sheets>'
            f'<sheet name="{escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": _XML + f'<Relationships xmlns="{_RELS}">'
            f'<Relationship Id="rId1" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_DOC_REL}/styles" Target="styles.xml"/></Relationships>',
            "xl/styles.xml": _XML + f'<styleSheet xmlns="{main}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>",
            "xl/worksheets/sheet1.xml": _XML + f'<worksheet xmlns="{main}"><sheetData>{sheet_rows}</sheetData>'
            "</worksheet>",
        },
    )


def write_all(directory: Path = DOCUMENTS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    write_if_changed(directory / "aurora_company_profile.pdf", pdf_bytes(COMPANY_PROFILE))
    write_if_changed(directory / "aurora_security_brief.pdf", pdf_bytes(SECURITY_BRIEF))
    write_if_changed(directory / "aurora_press_announcement.txt", PRESS_ANNOUNCEMENT)
    write_xlsx(directory / "aurora_operational_metrics.xlsx", "Regional Forecast", METRICS_HEADER, METRICS_ROWS)
    write_docx(directory / "aurora_solution_catalog.docx", CATALOG)
    written = []
    for document in DOCUMENTS:
        sidecar = directory / f"{document.file_name}.metadata.json"
        write_if_changed(sidecar, json.dumps(document.sidecar(), indent=2) + "\n")
        written += [directory / document.file_name, sidecar]
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.make_sample_documents", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--output", type=Path, default=DOCUMENTS_DIR, help="the folder to write (default: %(default)s)")
    for path in write_all(parser.parse_args(argv).output):
        print(path)


if __name__ == "__main__":
    main()
