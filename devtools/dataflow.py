"""The data-flow picture of the README: three flows into one knowledge base, drawn from a model of boxes and arrows.

Every box and labelled arrow names the construct paths of the resources it stands for, and
``tests/test_dataflow.py`` finds each of them in the synthesized app (boxes that are outside the app, such as
people, say so). The PNG carries a digest of the model, so the test also knows when the picture is stale.

python -m devtools.dataflow            # redraw docs/dataflow.png and docs/dataflow-bulk.png (make diagram)

The second picture is the app with ``app:streamIngestPath=bulk``: the stream's documents go through S3 objects and
ingestion jobs (docs/bulk-path.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from stream_ingest.mapping import TICKER_PRICES

REPO_ROOT = Path(__file__).resolve().parent.parent
PICTURE = REPO_ROOT / "docs" / "dataflow.png"
BULK_PICTURE = REPO_ROOT / "docs" / "dataflow-bulk.png"
DIGEST_KEY = "Dataflow-Model-Digest"

# The picture is drawn at this size, so that a README page (about 880 px wide on GitHub) shows it nearly 1:1.
WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.6, 6.4, 100
TITLE_POINTS, DETAIL_POINTS, LABEL_POINTS = 10.0, 9.0, 9.0
SMALLEST_POINTS = min(TITLE_POINTS, DETAIL_POINTS, LABEL_POINTS)


class Kind(StrEnum):
    OUTSIDE = "outside the app"
    STORE = "data store"
    COMPUTE = "function"
    QUEUE = "queue or event"
    SERVICE = "managed service"


COLOURS = {
    Kind.OUTSIDE: ("#f2f2f2", "#7f7f7f"),
    Kind.STORE: ("#dbe9f7", "#2f6db3"),
    Kind.COMPUTE: ("#fde7d2", "#c7641a"),
    Kind.QUEUE: ("#f6dcea", "#a8336f"),
    Kind.SERVICE: ("#ddf1e1", "#2e8540"),
}
DEAD_LETTER_COLOUR = "#c0392b"


@dataclass(frozen=True)
class Box:
    key: str
    title: str
    detail: str
    kind: Kind
    x: float  # centre, in the picture's units (inches from the lower left)
    y: float
    width: float = 1.4
    height: float = 0.72
    resources: tuple[str, ...] = ()  # construct paths in the synthesized app (fnmatch patterns)
    needs: dict[str, str] = field(default_factory=dict)  # settings under which the resources exist


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str = ""
    dead_letter: bool = False
    bend: float = 0.0  # arc3 radius: 0 is straight
    both_ways: bool = False
    resources: tuple[str, ...] = ()


COLUMNS = (0.8, 2.6, 4.4, 6.2)
DOCUMENTS_ROW, STREAM_ROW, CHECK_ROW, QUERY_ROW = 5.4, 3.9, 2.6, 0.85
KB_X, INDEX_X = 8.1, 9.95

BOXES: tuple[Box, ...] = (
    # Documents: files and sidecars -> bucket -> change events -> sync function -> S3 data source.
    Box("files", "Your documents", "and .metadata.json", Kind.OUTSIDE, COLUMNS[0], DOCUMENTS_ROW),
    Box("bucket", "Document bucket", "Amazon S3", Kind.STORE, COLUMNS[1], DOCUMENTS_ROW,
        resources=("Storage/Documents/Bucket/Resource",)),
    Box("changes", "Change events", "EventBridge, SQS", Kind.QUEUE, COLUMNS[2], DOCUMENTS_ROW,
        resources=("KnowledgeBase/DocumentSync/DocumentChanged/Resource",
                   "KnowledgeBase/DocumentSync/Changes/Resource")),
    Box("sync", "Sync function", "AWS Lambda", Kind.COMPUTE, COLUMNS[3], DOCUMENTS_ROW,
        resources=("KnowledgeBase/DocumentSync/Handler/Function/Resource",)),
    Box("sync_dead_letters", "Sync dead letters", "Amazon SQS", Kind.QUEUE, COLUMNS[3], DOCUMENTS_ROW - 0.85,
        height=0.56, resources=("KnowledgeBase/DocumentSync/DeadLetters/Resource",)),
    # Stream: producers -> topic -> (event source mapping) -> ingest function -> custom data source.
    Box("producer", "Producers", "sample, or your apps", Kind.COMPUTE, COLUMNS[0], STREAM_ROW,
        resources=("Network/SampleStream/Producer/Function/Resource",)),
    Box("topic", "Kafka topic", "Amazon MSK", Kind.SERVICE, COLUMNS[1], STREAM_ROW,
        resources=("Network/Topic/Topic", "Network/Kafka/Cluster")),
    Box("ingest", "Ingest function", "AWS Lambda", Kind.COMPUTE, COLUMNS[2], STREAM_ROW,
        resources=("Streaming/StreamIngest/Ingest/Function/Resource",)),
    Box("stream_dead_letters", "Stream dead letters", "Amazon SQS", Kind.QUEUE, COLUMNS[1], CHECK_ROW,
        height=0.56, resources=("Streaming/StreamIngest/DeadLetters/Resource",)),
    Box("checks", "Indexing checks", "Amazon SQS", Kind.QUEUE, COLUMNS[2], CHECK_ROW,
        resources=("Streaming/StreamIngest/IndexingChecks/Resource",)),
    Box("index_check", "Index check", "AWS Lambda", Kind.COMPUTE, COLUMNS[3], CHECK_ROW,
        resources=("Streaming/StreamIngest/IndexCheck/Function/Resource",)),
    # Questions: people -> the HTTPS APIs (the chat page's answers stream over WebSocket) or the console -> query
    # function -> knowledge base, and back.
    Box("people", "People", "and their apps", Kind.OUTSIDE, COLUMNS[0], QUERY_ROW),
    Box("http_api", "HTTPS APIs", "HTTP, WebSocket", Kind.SERVICE, COLUMNS[1], QUERY_ROW + 0.38, height=0.56,
        resources=("Query/HttpApi/Api/Resource", "Query/AnswerStream/Api/Resource"),
        needs={"queryHttpApi": "cognito", "webChat": "on"}),
    Box("console", "Lambda console", "or make ask", Kind.OUTSIDE, COLUMNS[1], QUERY_ROW - 0.38, height=0.56),
    Box("query", "Query function", "AWS Lambda", Kind.COMPUTE, COLUMNS[2], QUERY_ROW,
        resources=("Query/QueryFunction/Query/Function/Resource",)),
    # The knowledge base with its two data sources, and the vectors it keeps.
    Box("knowledge_base", "Knowledge base", "Amazon Bedrock", Kind.SERVICE, KB_X, 3.4, width=1.5, height=5.8,
        resources=("KnowledgeBase/KnowledgeBase/Resource",)),
    Box("documents_source", "S3 source", "ingestion jobs", Kind.SERVICE, KB_X, DOCUMENTS_ROW, width=1.3,
        height=0.56, resources=("KnowledgeBase/KnowledgeBase/DocumentsDataSource",)),
    Box("stream_source", "Custom source", "direct ingestion", Kind.SERVICE, KB_X, STREAM_ROW, width=1.3, height=0.56,
        resources=("KnowledgeBase/KnowledgeBase/StreamDataSource",)),
    Box("vector_index", "Vector index", "S3 Vectors", Kind.STORE, INDEX_X, 3.3, width=1.1,
        resources=("KnowledgeBase/VectorIndex/Index/Resource/Default", "Storage/VectorStore/Bucket/Resource/Default")),
)  # fmt: skip

ARROWS: tuple[Arrow, ...] = (
    Arrow("files", "bucket", "make upload"),
    Arrow("bucket", "changes"),
    Arrow("changes", "sync", "batched"),
    Arrow("sync", "documents_source"),
    Arrow("sync", "sync_dead_letters", dead_letter=True),
    Arrow("producer", "topic"),
    Arrow("topic", "ingest", "event source mapping",
          resources=("Streaming/StreamIngest/EventSourceMapping*/Resource",)),
    Arrow("ingest", "stream_source", "IngestKnowledgeBaseDocuments"),
    Arrow("ingest", "checks", "accepted"),
    Arrow("checks", "index_check"),
    Arrow("index_check", "knowledge_base", "indexed?"),
    Arrow("ingest", "stream_dead_letters", "poison", dead_letter=True),
    Arrow("index_check", "stream_dead_letters", "not indexed", dead_letter=True, bend=-0.35),
    Arrow("people", "http_api", both_ways=True),
    Arrow("people", "console", both_ways=True),
    Arrow("http_api", "query", both_ways=True),
    Arrow("console", "query", both_ways=True),
    Arrow("query", "knowledge_base", "question, then answer + citations", both_ways=True),
    Arrow("knowledge_base", "vector_index", "vectors", both_ways=True),
)  # fmt: skip


# The bulk path: the ingest function writes objects under stream/ of the document bucket; an S3 data source reads
# them; one starter starts every ingestion job of the knowledge base, the two data sources taking turns.
_BULK_SETTINGS = {"streamIngestPath": "bulk"}
_BULK_CHANGED: dict[str, dict[str, object]] = {
    "stream_source": {
        "title": "S3 source",
        "detail": "stream/, jobs",
        "needs": _BULK_SETTINGS,
        "resources": ("KnowledgeBase/KnowledgeBase/StreamObjectsDataSource",),
    },
    "sync_dead_letters": {"x": COLUMNS[2], "y": 4.65, "height": 0.5},  # room for the starter under the sync
}
BULK_BOXES: tuple[Box, ...] = (
    *(replace(box, **_BULK_CHANGED.get(box.key, {})) for box in BOXES),  # type: ignore[arg-type]
    Box("stream_objects", "Stream objects", "Amazon S3, stream/", Kind.STORE, COLUMNS[3], STREAM_ROW,
        resources=("Storage/Documents/Bucket/Resource",), needs=_BULK_SETTINGS),
    Box("starter", "Job starter", "AWS Lambda", Kind.COMPUTE, COLUMNS[3], 4.65, height=0.5,
        resources=("KnowledgeBase/IngestionJobStarter/Handler/Function/Resource",
                   "KnowledgeBase/IngestionJobStarter/EveryMinute/Resource"), needs=_BULK_SETTINGS),
)  # fmt: skip
_REPLACED_ARROWS = {("ingest", "stream_source"), ("sync", "documents_source")}
BULK_ARROWS: tuple[Arrow, ...] = (
    *(arrow for arrow in ARROWS if (arrow.source, arrow.target) not in _REPLACED_ARROWS),
    Arrow("ingest", "stream_objects", "objects"),
    Arrow("stream_objects", "stream_source"),
    Arrow("sync", "starter", "marker"),
    Arrow("starter", "knowledge_base", "jobs"),
)  # fmt: skip


@dataclass(frozen=True)
class Picture:
    path: Path
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    settings: dict[str, object]  # what the app is synthesized with for this picture (beyond the boxes' needs)


# Per-record IDs on the bulk path need string metadata: the picture's app uses the sample's key-based IDs.
_BULK_APP: dict[str, object] = {**_BULK_SETTINGS, "streamDocument": {**TICKER_PRICES, "id": "ticker/{key}"}}
PICTURES = (Picture(PICTURE, BOXES, ARROWS, {}), Picture(BULK_PICTURE, BULK_BOXES, BULK_ARROWS, _BULK_APP))


def model_digest(picture: Picture = PICTURES[0]) -> str:
    """A digest of what the picture shows, stored in the PNG so that a test can tell a stale picture."""
    model = {
        "boxes": [asdict(box) for box in picture.boxes],
        "arrows": [asdict(arrow) for arrow in picture.arrows],
        "size": [WIDTH_INCHES, HEIGHT_INCHES, DPI],
        "points": [TITLE_POINTS, DETAIL_POINTS, LABEL_POINTS],
    }
    return hashlib.sha256(json.dumps(model, sort_keys=True).encode()).hexdigest()[:16]


def _edge_point(box: Box, towards: Box) -> tuple[float, float]:
    """Where a line from the box's centre towards another box leaves the box; lines to or from the knowledge base's
    tall frame run level, at the height of the other box."""
    if box.key == "knowledge_base":
        side = box.x - box.width / 2 if towards.x < box.x else box.x + box.width / 2
        return side, towards.y
    if towards.key == "knowledge_base":
        return (box.x + box.width / 2 if towards.x > box.x else box.x - box.width / 2), box.y
    dx, dy = towards.x - box.x, towards.y - box.y
    half_w, half_h = box.width / 2, box.height / 2
    scale = min(half_w / abs(dx) if dx else float("inf"), half_h / abs(dy) if dy else float("inf"))
    return box.x + dx * scale, box.y + dy * scale


def _label_position(arrow: Arrow, start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    """Above a level arrow (above the row when the gap is too short for the label), or beside an arc's middle."""
    middle_x, middle_y = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
    if arrow.bend:  # a quadratic curve's middle lies half way to its control point
        return middle_x + arrow.bend * (end[1] - start[1]) / 2, middle_y - arrow.bend * (end[0] - start[0]) / 2 - 0.22
    level = abs(end[1] - start[1]) < 0.01
    short = level and abs(end[0] - start[0]) < 0.08 * LABEL_POINTS * len(arrow.label) / 9
    return middle_x, middle_y + (0.4 if short else 0.05)


def draw(picture: Picture = PICTURES[0]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    boxes = {box.key: box for box in picture.boxes}
    figure = plt.figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, WIDTH_INCHES)
    axes.set_ylim(0, HEIGHT_INCHES)
    axes.axis("off")

    for lane, y in (("Documents", DOCUMENTS_ROW), ("Stream", STREAM_ROW), ("Questions", QUERY_ROW)):
        axes.text(0.2, y + 0.52, lane.upper(), fontsize=LABEL_POINTS, color="#555555", weight="bold")

    for box in picture.boxes:
        fill, edge = COLOURS[box.kind]
        frame = box.key == "knowledge_base"
        axes.add_patch(FancyBboxPatch((box.x - box.width / 2, box.y - box.height / 2), box.width, box.height,
                                      boxstyle="round,pad=0.02,rounding_size=0.08", facecolor=fill, edgecolor=edge,
                                      linewidth=1.6 if frame else 1.2, zorder=1 if frame else 2))  # fmt: skip
        if frame:  # title at the top of the frame, the data sources inside it
            top = box.y + box.height / 2
            axes.text(box.x, top - 0.22, box.title, ha="center", va="center", fontsize=TITLE_POINTS, weight="bold")
            axes.text(box.x, top - 0.45, box.detail, ha="center", va="center", fontsize=DETAIL_POINTS, color="#333333")
            continue
        axes.text(box.x, box.y + 0.11, box.title, ha="center", va="center", fontsize=TITLE_POINTS, weight="bold",
                  zorder=3)  # fmt: skip
        axes.text(box.x, box.y - 0.15, box.detail, ha="center", va="center", fontsize=DETAIL_POINTS, color="#333333",
                  zorder=3)  # fmt: skip

    for arrow in picture.arrows:
        source, target = boxes[arrow.source], boxes[arrow.target]
        start, end = _edge_point(source, target), _edge_point(target, source)
        colour = DEAD_LETTER_COLOUR if arrow.dead_letter else "#333333"
        style = "<|-|>" if arrow.both_ways else "-|>"
        line = (0, (4, 3)) if arrow.dead_letter else "solid"
        axes.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=colour, linewidth=1.2,
                                       linestyle=line, connectionstyle=f"arc3,rad={arrow.bend}", zorder=4))  # fmt: skip
        if arrow.label:
            label_x, label_y = _label_position(arrow, start, end)
            backdrop = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}
            axes.text(label_x, label_y, arrow.label, ha="center", va="bottom", fontsize=LABEL_POINTS, color=colour,
                      zorder=5, bbox=backdrop)  # fmt: skip

    legend: list[Artist] = [Patch(facecolor=COLOURS[kind][0], edgecolor=COLOURS[kind][1], label=kind.value)
                            for kind in Kind]  # fmt: skip
    legend.append(Line2D([0], [0], color=DEAD_LETTER_COLOUR, linestyle=(0, (4, 3)), label="dead-letter path"))
    axes.legend(handles=legend, loc="lower right", bbox_to_anchor=(0.995, 0.01), fontsize=LABEL_POINTS,
                frameon=False)  # fmt: skip

    picture.path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(picture.path, dpi=DPI, metadata={DIGEST_KEY: model_digest(picture), "Software": None})
    plt.close(figure)
    return picture.path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.dataflow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.parse_args(argv)
    for picture in PICTURES:
        print(f"drew {draw(picture).relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
