"""docs/cost.md is what the cost script makes of the current templates, and its numbers add up."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scripts.estimate_cost import (
    BROKER_HOUR,
    HOURS_PER_MONTH,
    PRICES,
    idle_lines,
    nat_gateway_design_lines,
    render_markdown,
)
from tests.conftest import EXISTING_CLUSTER, REPO_ROOT, Synthesized


def test_docs_cost_is_up_to_date(app: Synthesized, synth: Callable[..., Synthesized]) -> None:
    expected = render_markdown(app.templates, synth(**EXISTING_CLUSTER).templates,
                               synth(encryption="customer-managed").templates)  # fmt: skip
    assert (REPO_ROOT / "docs" / "cost.md").read_text() == expected, "run `make cost` and commit docs/cost.md"


def test_idle_cost_counts_brokers_storage_and_endpoints(app: Synthesized) -> None:
    lines = {line.item: line.monthly for line in idle_lines(app.templates)}
    assert lines["MSK brokers"] == pytest.approx(2 * BROKER_HOUR["kafka.t3.small"] * HOURS_PER_MONTH)
    assert lines["MSK storage"] == pytest.approx(2 * 10 * PRICES["msk_storage_gb_month"])
    # One AZ each for the Lambda and STS endpoints by default; no NAT gateway at all.
    assert lines["Interface endpoints"] == pytest.approx(2 * PRICES["interface_endpoint_az_hour"] * HOURS_PER_MONTH)
    assert "NAT gateways" not in lines
    assert sum(lines.values()) < sum(line.monthly for line in nat_gateway_design_lines())


def test_settings_move_the_estimate(synth: Callable[..., Synthesized]) -> None:
    lines = {
        line.item: line.monthly
        for line in idle_lines(synth(endpointAzCount=2, streamPollerMode="provisioned").templates)
    }
    assert lines["Interface endpoints"] == pytest.approx(4 * PRICES["interface_endpoint_az_hour"] * HOURS_PER_MONTH)
    assert lines["Provisioned event pollers"] == pytest.approx(PRICES["event_poller_unit_hour"] * HOURS_PER_MONTH)


def test_bring_your_own_cluster_idles_at_almost_nothing(synth: Callable[..., Synthesized]) -> None:
    lines = {line.item: line.monthly for line in idle_lines(synth(**EXISTING_CLUSTER).templates)}
    assert "MSK brokers" not in lines and "Interface endpoints" not in lines
    assert sum(lines.values()) < 2


def test_a_customer_managed_key_is_priced(synth: Callable[..., Synthesized]) -> None:
    from scripts.estimate_cost import Load, key_lines

    lines = {line.item: line.monthly for line in key_lines(Load(), synth(encryption="customer-managed").templates)}
    assert lines["KMS key (`encryption=customer-managed`)"] == PRICES["kms_key_month"]
    assert lines["KMS requests"] > 0
    assert {line.monthly for line in key_lines(Load(), synth().templates)} == {0.0}  # aws-managed: no key
