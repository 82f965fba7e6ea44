"""The request bodies' JSON Schemas, for the OpenAPI description (and for the clients and
fuzzers generated from it). They describe the documents; the rules that refuse them, with
a code and a field, are the domain's (docs/rules.md), so the routes read bodies themselves."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tallyproof.domain.forms import SupersedeReason

_ID = {"type": "string", "minLength": 1, "maxLength": 128}
_TIME = {"type": "string", "format": "date-time", "description": "RFC 3339, with its zone"}
_COUNT = {"type": "integer", "minimum": 0, "maximum": 9007199254740991}
_VOTES = {"type": "object", "additionalProperties": _COUNT, "maxProperties": 500}
_REASON = {"type": "string", "enum": [str(r) for r in SupersedeReason]}
_SOURCE = {
    "type": "string",
    "description": "presiding_officer, returning_officer, agent:<party>, observer:<org> or "
    "media:<outlet>",
}
EVIDENCE = {
    "type": "object",
    "description": "the photo or scan the document was read from (docs/formats.md)",
    "required": ["sha256"],
    "additionalProperties": False,
    "properties": {
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "url": {"type": "string", "pattern": "^https://", "maxLength": 2000},
        "transcribed_by": {"type": "string", "maxLength": 200},
    },
}
SIGNATURE = {
    "type": "object",
    "required": ["key", "value"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string", "description": "the key id: 16 hex digits"},
        "value": {"type": "string", "description": "base64 Ed25519 signature (64 bytes)"},
    },
}
DOCUMENTS: dict[str, dict[str, Any]] = {
    "form": {
        "type": "object",
        "description": "A result form (Form 45): one count of one contest at one station",
        "required": ["election", "station", "contest", "source", "votes", "rejected", "polled"],
        "properties": {
            "election": _ID,
            "station": _ID,
            "contest": _ID,
            "source": _SOURCE,
            "votes": _VOTES,
            "rejected": _COUNT,
            "polled": _COUNT,
            "valid": _COUNT,
            "issued": _COUNT,
            "time": _TIME,
            "remarks": {"type": "string"},
            "supersedes": {"type": "string", "description": "the id of the form it replaces"},
            "reason": _REASON,
            "evidence": EVIDENCE,
        },
    },
    "ballot_account": {
        "type": "object",
        "description": "A ballot paper account (Form 46), the presiding officer's: received = "
        "issued + spoilt + unused",
        "required": [
            "election",
            "station",
            "contest",
            "source",
            "received",
            "issued",
            "spoilt",
            "unused",
            "time",
        ],
        "properties": {
            "election": _ID,
            "station": _ID,
            "contest": _ID,
            "source": {"type": "string", "enum": ["presiding_officer"]},
            "received": _COUNT,
            "issued": _COUNT,
            "spoilt": _COUNT,
            "unused": _COUNT,
            "tendered": _COUNT,
            "time": _TIME,
            "remarks": {"type": "string"},
            "supersedes": {"type": "string", "description": "the id of the account it corrects"},
            "reason": {"type": "string", "enum": ["correction"]},
            "evidence": EVIDENCE,
        },
    },
    "declaration": {
        "type": "object",
        "description": "A declared consolidation (Form 47)",
        "required": ["election", "contest", "source", "votes", "time"],
        "properties": {
            "election": _ID,
            "contest": _ID,
            "source": _SOURCE,
            "votes": _VOTES,
            "rejected": _COUNT,
            "polled": _COUNT,
            "valid": _COUNT,
            "registered": _COUNT,
            "stations": {"type": "object", "additionalProperties": _VOTES},
            "time": _TIME,
            "remarks": {"type": "string"},
            "supersedes": {"type": "string"},
            "reason": _REASON,
        },
    },
    "claim": {
        "type": "object",
        "description": "A news report's claims, signed for media:<outlet> (docs/claims.md)",
        "required": ["election", "source", "published", "text_sha256", "claims"],
        "properties": {
            "election": _ID,
            "source": _SOURCE,
            "published": {"type": "string"},
            "text_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "title": {"type": "string"},
            "url": {"type": "string"},
            "claims": {"type": "array", "items": {"type": "object"}},
        },
    },
    "structure": {
        "type": "object",
        "description": "An election's structure (docs/formats.md), naming its admin key",
        "required": ["election", "contests", "stations", "admin_key"],
        "properties": {
            "election": {"type": "object"},
            "parties": {"type": "array", "items": {"type": "object"}},
            "assemblies": {"type": "array", "items": {"type": "object"}},
            "contests": {"type": "array", "items": {"type": "object"}},
            "stations": {"type": "array", "items": {"type": "object"}},
            "admin_key": {"type": "string", "description": "base64 Ed25519 public key"},
        },
    },
    "key_registration": {
        "type": "object",
        "required": ["election", "key", "source", "time"],
        "properties": {
            "election": _ID,
            "key": {
                "type": "object",
                "required": ["name", "public_key"],
                "properties": {"name": _ID, "public_key": {"type": "string"}},
            },
            "source": _SOURCE,
            "stations": {"type": "array", "items": _ID},
            "contests": {"type": "array", "items": _ID},
            "time": _TIME,
        },
    },
    "key_revocation": {
        "type": "object",
        "required": ["election", "key_id", "reason", "time"],
        "properties": {
            "election": _ID,
            "key_id": {"type": "string"},
            "reason": {"type": "string"},
            "time": _TIME,
        },
    },
    "status": {
        "type": "object",
        "required": ["election", "scope", "target", "status", "time"],
        "properties": {
            "election": _ID,
            "scope": {"type": "string", "enum": ["contest", "station"]},
            "target": _ID,
            "status": {"type": "string"},
            "reason": {"type": "string"},
            "time": _TIME,
            "re_poll_date": {
                "type": "string",
                "format": "date",
                "description": "a station's re-poll day, on a re_poll_ordered or suspended order",
            },
        },
    },
}


def envelope(kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [kind, "signature"],
        "additionalProperties": False,
        "properties": {kind: DOCUMENTS[kind], "signature": SIGNATURE},
    }


def batch(kind: str, plural: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [plural],
        "additionalProperties": False,
        "properties": {plural: {"type": "array", "minItems": 1, "items": envelope(kind)}},
    }


def _body(*schemas: dict[str, Any]) -> dict[str, Any]:
    schema = schemas[0] if len(schemas) == 1 else {"oneOf": list(schemas)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def submission(kind: str, plural: str) -> dict[str, Any]:
    """One signed envelope, or a batch of them."""
    return _body(envelope(kind), batch(kind, plural))


def admin(kind: str, plural: str | None = None) -> dict[str, Any]:
    return _body(envelope(kind), batch(kind, plural)) if plural else _body(envelope(kind))


REPORT_TEXT = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "description": "the report's text, at most 32 KB"},
        "outlet": {"type": "string"},
        "published": {"type": "string", "description": "YYYY-MM-DD"},
        "election": {"type": "string"},
    },
}


def claims() -> dict[str, Any]:
    """A report's text to read, or signed claim reports to file."""
    return _body(REPORT_TEXT, envelope("claim"), batch("claim", "claims"))


# --- results delay: the answers' shapes, for the OpenAPI description (api/delay.py) ---------


class ContestDelayModel(BaseModel):
    """One contest's delays: logged times (UTC), durations in seconds after the close."""

    contest: str
    assembly: str
    stations: int
    reported: int
    complete: bool
    postponed: bool
    first_form_at: str | None
    all_forms_at: str | None
    declared_at: str | None
    to_first_form: float | None
    to_all_forms: float | None
    to_declared: float | None


class CurvePointModel(BaseModel):
    minute: str = Field(description="YYYY-MM-DDTHH:MM of the log's UTC time")
    after_close: float = Field(description="seconds from the close to the minute's end")
    reported: int = Field(description="stations reported by then (cumulative)")


class CurveModel(BaseModel):
    name: str = Field(description="national, or an assembly's code")
    stations: int
    points: list[CurvePointModel]


class DelayTimes(BaseModel):
    election: str
    close: str = Field(description="the close of poll the durations count from")
    as_of_time: str | None = Field(description="when the answer's last entry was logged")
    elapsed: float | None = Field(description="seconds from the close to as_of_time")


class ElectionDelayModel(DelayTimes):
    slowest_by: str
    slowest: list[str] = Field(description="the slowest contests' codes, slowest first")
    contests: list[ContestDelayModel]
    national: CurveModel
    assemblies: list[CurveModel]


class ElectionDelayAnswer(BaseModel):
    tree_size: int
    checkpoint: str
    delay: ElectionDelayModel


class ContestDelayTimes(DelayTimes, ContestDelayModel):
    pass


class ContestDelayAnswer(BaseModel):
    tree_size: int
    checkpoint: str
    delay: ContestDelayTimes


_SEATS = {"type": "integer", "minimum": 0}
GOVERNMENT: dict[str, Any] = {
    "type": "object",
    "description": "The National Assembly's arithmetic (docs/government.md)",
    "required": ["tree_size", "checkpoint", "total_seats", "majority", "parties", "reserved"],
    "properties": {
        "tree_size": _SEATS,
        "checkpoint": {"type": "string"},
        "election": {"type": "string"},
        "total_seats": _SEATS,
        "general_seats": _SEATS,
        "majority": _SEATS,
        "undecided": _SEATS,
        "parties": {"type": "array", "items": {"type": "object"}},
        "reserved": {"type": "array", "items": {"type": "object"}},
        "joinings": {"type": "array", "items": {"type": "object"}},
    },
}
