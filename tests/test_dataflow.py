"""The data-flow picture shows the app as it synthesizes: every box and labelled arrow is a resource of the app
(or says it is outside it), the PNG is drawn from the current model, and it is legible at a README's width."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import CfnResource
from PIL import Image

from devtools.dataflow import (
    DIGEST_KEY,
    DPI,
    PICTURES,
    SMALLEST_POINTS,
    Kind,
    Picture,
    model_digest,
)
from tests.conftest import QUERY_FEATURES, Synthesized

README_WIDTH_PX = 880  # GitHub's widest rendering of a README's content column


def construct_paths(app: Synthesized) -> dict[str, str]:
    """Every resource's construct path and its CloudFormation type."""
    return {
        construct.node.path: construct.cfn_resource_type
        for stack in app.stacks_by_id.values()
        for construct in stack.node.find_all()
        if isinstance(construct, CfnResource)
    }


BOXES = [(picture, box) for picture in PICTURES for box in picture.boxes]


def picture_id(picture: Picture) -> str:
    return picture.path.stem


@pytest.mark.parametrize(("picture", "box"), BOXES, ids=[f"{picture_id(picture)}-{box.key}" for picture, box in BOXES])
def test_every_box_is_a_resource_the_app_synthesizes(
    picture: Picture, box: Any, synth: Callable[..., Synthesized]
) -> None:
    if box.kind is Kind.OUTSIDE:
        assert not box.resources, f"{box.key} is outside the app but names resources"
        return
    assert box.resources, f"{box.key} names no resource"
    variant = dict(picture.settings)
    if not box.needs.items() <= variant.items():
        assert box.needs.items() <= QUERY_FEATURES.items(), "a box's settings must be its picture's or the features'"
        variant = {**QUERY_FEATURES, **variant}
    paths = construct_paths(synth(**variant))
    missing = [pattern for pattern in box.resources if not fnmatch.filter(paths, pattern)]
    assert not missing, f"{box.title}: not in the synthesized app: {missing}"


@pytest.mark.parametrize("picture", PICTURES, ids=picture_id)
def test_every_arrow_joins_two_boxes_and_its_resources_exist(
    picture: Picture, synth: Callable[..., Synthesized]
) -> None:
    keys = {box.key for box in picture.boxes}
    paths = construct_paths(synth(**picture.settings))
    for arrow in picture.arrows:
        assert {arrow.source, arrow.target} <= keys, arrow
        assert all(fnmatch.filter(paths, pattern) for pattern in arrow.resources), arrow


@pytest.mark.parametrize("picture", PICTURES, ids=picture_id)
def test_every_dead_letter_queue_of_the_app_is_drawn(picture: Picture, synth: Callable[..., Synthesized]) -> None:
    queues = {path for path, kind in construct_paths(synth(**picture.settings)).items() if kind == "AWS::SQS::Queue"}
    drawn = {path for box in picture.boxes for path in box.resources}
    assert {path for path in queues if "DeadLetters" in path} <= drawn


@pytest.mark.parametrize("picture", PICTURES, ids=picture_id)
def test_the_picture_is_drawn_from_the_current_model(picture: Picture) -> None:
    with Image.open(picture.path) as image:
        assert image.info.get(DIGEST_KEY) == model_digest(picture), "redraw it: make diagram"


@pytest.mark.parametrize("picture", PICTURES, ids=picture_id)
def test_the_picture_is_legible_at_a_readmes_width(picture: Picture) -> None:
    with Image.open(picture.path) as image:
        width, _ = image.size
    smallest_px_on_page = SMALLEST_POINTS / 72 * DPI * min(1.0, README_WIDTH_PX / width)
    assert width <= 1200 and smallest_px_on_page >= 10, (width, smallest_px_on_page)
