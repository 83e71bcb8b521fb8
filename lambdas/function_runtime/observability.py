"""Powertools' tracer, configured by the function's environment, without the X-Ray SDK when tracing is off."""

from __future__ import annotations

import os
import traceback
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


class _Unrecorded(BaseSegment):
    """A segment nobody records: what a disabled Tracer's decorators open and close."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(
        self, exception: BaseException, stack: list[traceback.StackSummary], remote: bool = False
    ) -> None:
        return None


class _NoTracing(BaseProvider):
    """Stands in for the X-Ray recorder when tracing is off. Powertools otherwise loads the X-Ray SDK
    (which creates AWS clients of its own, about 0.2 s of cold start) even for a disabled Tracer."""

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _Unrecorded()

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> AsyncGenerator[BaseSegment, None]:
        yield _Unrecorded()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Any) -> None:
        return None

    def patch_all(self) -> None:
        return None


def make_tracer() -> Tracer:
    """The Powertools Tracer; when POWERTOOLS_TRACE_DISABLED is true, one that never loads the X-Ray SDK.

    Lambda's active tracing records every invocation either way; the SDK adds a subsegment per AWS call.
    """
    if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return Tracer(disabled=True, provider=_NoTracing())
    return Tracer()
