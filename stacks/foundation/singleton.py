"""One construct of a kind per stack (a shared layer, role or registry), found or created on demand."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aws_cdk import Stack
from constructs import Construct

T = TypeVar("T", bound=Construct)


def stack_singleton(scope: Construct, construct_id: str, kind: type[T], create: Callable[[Stack, str], T]) -> T:
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(construct_id)
    if isinstance(existing, kind):
        return existing
    return create(stack, construct_id)
