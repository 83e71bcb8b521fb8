"""Group policies: filters the function ANDs with every request, which the caller cannot widen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from query.filters import validate_filter


@dataclass(frozen=True)
class AccessPolicy:
    """``filters`` maps a group to its enforced filter, or to None for unrestricted access
    (configured as ``{}``)."""

    filters: Mapping[str, dict[str, Any] | None]
    default_group: str

    @classmethod
    def of(cls, group_filters: Mapping[str, Any], default_group: str) -> AccessPolicy:
        """Raises FilterError or ValueError for a policy the function must not run with."""
        filters: dict[str, dict[str, Any] | None] = dict(group_filters)
        for group, enforced in list(filters.items()):
            if enforced in (None, {}):
                filters[group] = None
            else:
                validate_filter(enforced, f"group {group!r}")
        if filters and default_group not in filters:
            raise ValueError(f"the default group {default_group!r} has no entry in the group filters")
        return cls(filters=filters, default_group=default_group)

    @property
    def configured(self) -> bool:
        return bool(self.filters)

    def audience(self, groups: Sequence[str]) -> tuple[str, ...]:
        """The groups a caller asks as: the known ones among ``groups``, or the default group."""
        return tuple(group for group in dict.fromkeys(groups) if group in self.filters) or (self.default_group,)

    def enforced_filter(self, groups: Sequence[str]) -> dict[str, Any] | None:
        """What the caller's groups allow: any unrestricted group allows everything, several
        restricted groups allow the union of what each allows. Unknown groups count as the default."""
        if not self.configured:
            return None
        known = [group for group in dict.fromkeys(groups) if group in self.filters] or [self.default_group]
        filters = [self.filters[group] for group in known]
        if any(enforced is None for enforced in filters):
            return None
        restricted = [enforced for enforced in filters if enforced is not None]
        return restricted[0] if len(restricted) == 1 else {"orAll": restricted}


def combine(enforced: dict[str, Any] | None, requested: dict[str, Any] | None) -> dict[str, Any] | None:
    """Both must hold: the request can narrow the enforced filter, never widen it."""
    if enforced is None:
        return requested
    if requested is None:
        return enforced
    return {"andAll": [enforced, requested]}
