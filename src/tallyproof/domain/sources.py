"""Who says a number: presiding officer, returning officer, party agent, observer, news outlet."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from tallyproof.domain.problems import reject

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._&()'-]{0,79}")  # fullmatch


class SourceKind(StrEnum):
    PRESIDING_OFFICER = "presiding_officer"
    RETURNING_OFFICER = "returning_officer"
    AGENT = "agent"
    OBSERVER = "observer"
    MEDIA = "media"


_NAMED = {SourceKind.AGENT, SourceKind.OBSERVER, SourceKind.MEDIA}
_OFFICIAL = {SourceKind.PRESIDING_OFFICER, SourceKind.RETURNING_OFFICER}


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """A source label such as `presiding_officer` or `agent:PTI`."""

    kind: SourceKind
    name: str = ""

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (Source, (self.kind, self.name))

    @property
    def official(self) -> bool:
        """Official sources (the election staff) share one chain of forms per station."""
        return self.kind in _OFFICIAL

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else str(self.kind)

    def __str__(self) -> str:
        return self.label


def parse_source(value: object, field: str = "source") -> Source:
    """Parse a source label; refuse unknown kinds and names outside a safe alphabet."""
    if not isinstance(value, str):
        raise reject("schema.type", field, "source must be a string such as 'agent:PTI'")
    kind_text, _, name = value.partition(":")
    try:
        kind = SourceKind(kind_text)
    except ValueError:
        kinds = ", ".join(k.value for k in SourceKind)
        raise reject(
            "source.unknown_kind", field, f"{value!r}: kind must be one of {kinds}"
        ) from None
    if kind in _NAMED:
        if not _NAME.fullmatch(name):
            raise reject("source.name", field, f"{value!r}: {kind} needs a name, e.g. '{kind}:PTI'")
    elif name:
        raise reject("source.name", field, f"{value!r}: {kind} takes no name")
    return Source(kind, name)
