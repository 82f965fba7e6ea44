"""Linking claims to an election's structure: the contest (by code, or a mayoralty by its
place), the candidate (any variant of the name: "Khawaja Saad Rafique", "Saad Rafique",
"Rafique"; or a party's only candidate), the party. A claim that cannot be linked without
guessing keeps its text and says why."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from tallyproof.claims.gazetteer import PLACE_ALIASES, normal
from tallyproof.claims.roster import full_key, name_key, party_code
from tallyproof.domain.claims import Claim, ClaimKind, StatusClaim
from tallyproof.domain.structure import Candidate, Contest, ElectionStructure

_CODE = re.compile(r"^(NA|PP|PS|PK|PB)-(\d+)$", re.IGNORECASE)


def link_claims(claims: Sequence[Claim], structures: Sequence[ElectionStructure]) -> list[Claim]:
    """Each claim linked to one of `structures`, or marked unlinked with the reason."""
    return [_link(c, structures) for c in claims]


def _link(claim: Claim, structures: Sequence[ElectionStructure]) -> Claim:
    if claim.unsure:  # never linked by a guess: it is shown, and raises nothing
        return replace(claim, unlinked=f"unsure: {claim.unsure}")
    if not structures:
        return replace(claim, unlinked="no election to link to")
    if claim.kind is ClaimKind.SEATS:
        return _link_party(claim, structures)
    reasons = []
    for structure in _ranked(claim, structures):
        linked, reason = _link_in(claim, structure)
        if linked is not None:
            return linked
        reasons.append(reason)
    return replace(claim, unlinked=reasons[0])


def _ranked(claim: Claim, structures: Sequence[ElectionStructure]) -> list[ElectionStructure]:
    """The elections that have the claim's contest first."""
    return sorted(structures, key=lambda s: not _contests(claim.contest, s))


def _link_party(claim: Claim, structures: Sequence[ElectionStructure]) -> Claim:
    if not claim.party:
        return replace(claim, unlinked="no party named for the seats")
    for structure in structures:
        if any(p.code == claim.party for p in structure.parties):
            return replace(claim, election=structure.election.id, party_code=claim.party)
    return replace(claim, unlinked=f"no party {claim.party} in the election")


def _link_in(claim: Claim, structure: ElectionStructure) -> tuple[Claim | None, str]:
    election = structure.election.id
    contests = _contests(claim.contest, structure)
    status_only = claim.kind is ClaimKind.STATUS and claim.status in (
        StatusClaim.POSTPONED,
        StatusClaim.SUSPENDED,
        StatusClaim.RE_POLL,
    )
    if claim.contest and not contests:
        return None, f"no contest {claim.contest!r} in {election}"
    if not claim.contest:
        if status_only:
            return None, "no contest named"
        contests = _contests_with_candidate(claim, structure)
        if len(contests) != 1:
            found = "no" if not contests else f"{len(contests)}"
            return None, f"no contest named, and {found} contests have a candidate {_who(claim)}"
    if len(contests) > 1:
        codes = ", ".join(c.code for c in contests)
        return None, f"{claim.contest!r} could be {codes}"
    contest = contests[0]
    base = replace(claim, election=election, contest_code=contest.code)
    if status_only or (claim.kind is ClaimKind.MARGIN and not claim.candidate):
        return base, ""
    if not claim.candidate and not claim.party:
        if claim.kind is ClaimKind.STATUS:
            return base, ""
        return None, f"the claim names no candidate in {contest.code}"
    matches = _candidates(claim, contest)
    if len(matches) == 1:
        k = matches[0]
        party = k.party or k.backed_by or ""
        # the roster knows whether "PTI" means a member or a backed independent
        backed = False if k.party else bool(k.backed_by) or claim.backed
        return replace(base, candidate_id=k.id, party_code=party, backed=backed), ""
    if not matches:
        return None, f"no candidate {_who(claim)} in {contest.code}"
    names = ", ".join(m.name for m in matches)
    return None, f"{_who(claim)} could be any of {names} in {contest.code}"


def _who(claim: Claim) -> str:
    if claim.candidate:
        return f"named {claim.candidate!r}"
    return f"of {claim.party}" if claim.party else "(none named)"


def _contests(text: str, structure: ElectionStructure) -> list[Contest]:
    if not text:
        return []
    exact = structure.contest(text)
    if exact is not None:
        return [exact]
    code = _CODE.match(text)
    if code:
        wanted = f"{code.group(1).upper()}-{int(code.group(2))}"
        found = structure.contest(wanted)
        return [found] if found else []
    for office in ("mayor", "tehsil"):
        if text.endswith(f" {office}"):
            where = text[: -len(office) - 1]
            place = normal(PLACE_ALIASES.get(where, where))
            return [
                c
                for c in structure.contests
                if office in normal(f"{c.code} {c.name}") and place in normal(c.name)
            ]
    return []


def _contests_with_candidate(claim: Claim, structure: ElectionStructure) -> list[Contest]:
    if not claim.candidate:
        return []
    return [c for c in structure.contests if _candidates(claim, c)]


def _candidates(claim: Claim, contest: Contest) -> list[Candidate]:
    """Candidates whose name holds every word the claim uses ("Rafique" -> Khawaja Saad
    Rafique); with no name, the one candidate of the claim's party."""
    if claim.candidate:
        words = name_key(claim.candidate)
        return [k for k in contest.candidates if words and words <= full_key(k.name)]
    party = party_code(claim.party)
    return [
        k for k in contest.candidates if party in (party_code(k.party), party_code(k.backed_by))
    ]
