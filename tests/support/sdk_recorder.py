"""Records and strictly validates every SDK call a client makes (used on the Lambda code's clients)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devtools.sdk_model import validate_request


@dataclass
class SdkCallRecorder:
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def attach(self, client: Any) -> Any:
        service = client.meta.service_model.service_name

        def on_call(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.calls.append((service, model.name, dict(params)))
            self.problems += validate_request(service, model.name, params)

        client.meta.events.register("before-parameter-build", on_call)
        return client

    def operations(self) -> set[tuple[str, str]]:
        return {(service, operation) for service, operation, _ in self.calls}
