"""Forensics on a stored election: the station arrays of a contest from its current official
forms, every test of `tallyproof.forensics`, and the findings they amount to."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from tallyproof.domain.findings import Finding, Severity
from tallyproof.forensics.arrays import StationArrays
from tallyproof.forensics.integer import PUBLISHED, StationFilter
from tallyproof.forensics.report import (
    Analysis,
    Progress,
    analyse,
    format_p,
)
from tallyproof.service.queries import UnknownElection, current_official_counts, structure_of
from tallyproof.service.writer import LedgerWriter

EVIDENCE_STATIONS = 100  # station ids listed in a finding; the count is always complete
MODEL_MIN_STATIONS = 2000  # a 50 x 50 fingerprint needs this many stations to mean anything
READING = "reading the stations from the store"  # the stage before `report.STAGES`


def station_arrays(writer: LedgerWriter, election: str | None, contest: str) -> StationArrays:
    """One row per station with a current official form, in station order."""
    structure = structure_of(writer, election)
    found = structure.contest(contest)
    if found is None:
        raise UnknownElection(
            "form.unknown_contest", f"no contest {contest!r} in {structure.election.id}"
        )
    with writer.read() as reader:
        rows = current_official_counts(reader, structure.election.id, contest)
    current = sorted(rows, key=lambda r: r.station)
    index = {cid: k for k, cid in enumerate(found.candidate_ids)}
    votes = np.zeros((len(current), len(index)), dtype=np.int64)
    for i, row in enumerate(current):
        for cid, n in row.votes.items():
            votes[i, index[cid]] = n
    stations = [structure.station(r.station) for r in current]
    polled = np.array([r.polled for r in current], dtype=np.int64)
    return StationArrays(
        station=np.array([r.station for r in current], dtype=object),
        region=np.array([s.region if s else "" for s in stations], dtype=object),
        registered=np.array([s.registered_voters if s else 0 for s in stations], dtype=np.int64),
        issued=np.array(
            [r.issued if r.issued is not None else r.polled for r in current], dtype=np.int64
        ),
        polled=polled,
        rejected=np.array([r.rejected for r in current], dtype=np.int64),
        votes=votes,
        candidates=found.candidate_ids,
        names=tuple(c.name for c in found.candidates),
        station_names=np.array(
            [st.name if st else r.station for st, r in zip(stations, current, strict=True)],
            dtype=object,
        ),
    )


def contests_to_analyse(
    writer: LedgerWriter, election: str | None, chosen: list[str] | None
) -> list[str]:
    """The contests asked for, else every contest that has polling stations."""
    structure = structure_of(writer, election)
    return chosen or [c.code for c in structure.contests if structure.stations_of(c.code)]


def analyse_contest(
    writer: LedgerWriter,
    election: str | None,
    contest: str,
    *,
    replicates: int = 1000,
    seed: int = 0,
    workers: int = 0,
    progress: Progress | None = None,
    station_filter: StationFilter = PUBLISHED,
) -> tuple[Analysis, list[Finding]]:
    """The contest's arrays, every test, and the findings; `progress` hears `READING` and
    then each of `report.STAGES` start and end."""
    if progress:
        progress(READING, 0, 1)
    arrays = station_arrays(writer, election, contest)
    if progress:
        progress(READING, 1, 1)
    analysis = analyse(
        arrays,
        replicates=replicates,
        seed=seed,
        workers=workers,
        progress=progress,
        station_filter=station_filter,
    )
    return analysis, forensic_findings(contest, analysis)


def _stations(mask: np.ndarray, a: StationArrays) -> dict[str, Any]:
    ids = a.station[mask]
    regions = Counter(str(r) for r in a.region[mask])
    return {
        "count": int(mask.sum()),
        "stations": [str(s) for s in ids[:EVIDENCE_STATIONS]],
        "by_region": dict(regions.most_common()),
    }


def forensic_findings(contest: str, an: Analysis) -> list[Finding]:
    """Contest-level and region-level findings; station ids are the evidence."""
    a = an.arrays
    out: list[Finding] = []
    either = an.integer["either"]
    if either.z >= 3 and either.excess > 0:
        kept = a.subset(an.integer_filter)
        out.append(
            Finding(
                "forensics.integer_percentages",
                Severity.HIGH if either.z >= 5 else Severity.MEDIUM,
                f"{contest}: {either.observed:,} stations report an integer turnout or "
                f"leader's share; binomial chance gives {either.expected:,.0f} "
                f"± {either.spread:,.0f} (excess {either.excess:,.0f}, z = {either.z:.1f}, "
                f"{format_p(either.p_value, either.replicates)}); a pattern across regions, "
                "not proof of fraud at any one station",
                contest=contest,
                evidence={
                    name: {
                        "observed": t.observed,
                        "expected": round(t.expected, 1),
                        "spread": round(t.spread, 1),
                        "z": round(t.z, 2),
                        "p_value": t.p_value,
                    }
                    for name, t in an.integer.items()
                }
                | {
                    "window_pp": either.window,
                    "stations_kept": either.station_filter.describe(),
                    "replicates": either.replicates,
                    "stations": _stations(either.hits, kept),
                },
            )
        )
    for region in an.regions:
        if region.z >= 4 and region.observed - region.expected >= 10:
            out.append(
                Finding(
                    "forensics.integer_percentages_region",
                    Severity.MEDIUM,
                    f"{contest}, {region.region}: {region.observed:,} of {region.stations:,} "
                    f"stations on integer percentages against {region.expected:.0f} "
                    f"± {region.spread:.0f} by chance (z = {region.z:.1f})",
                    contest=contest,
                    evidence={
                        "region": region.region,
                        "observed": region.observed,
                        "expected": round(region.expected, 1),
                        "z": round(region.z, 2),
                        "stations": list(region.stations_on_integers[:EVIDENCE_STATIONS]),
                    },
                )
            )
    out += _station_findings(contest, an)
    out += _digit_findings(contest, an)
    fit = an.fit
    # f_i counts only against one fair peak: fair blocs that are not quite normal leave
    # 0-12 % of "incremental fraud" between them (two-bloc simulations), f_e stays near 0
    incremental = len(fit.modes) <= 1 and fit.f_incremental >= 0.1
    if a.size >= MODEL_MIN_STATIONS and (fit.f_extreme >= 0.01 or incremental):
        out.append(
            Finding(
                "forensics.fraud_model",
                Severity.MEDIUM,
                f"{contest}: the turnout x share fingerprint fits a model with "
                f"{100 * fit.f_incremental:.0f} % of stations under incremental and "
                f"{100 * fit.f_extreme:.1f} % under extreme fraud; a statistical pattern, "
                "not proof of fraud; f_i is a lower bound, and the model assumes one or a few "
                "fair peaks",
                contest=contest,
                evidence={
                    "f_incremental": round(fit.f_incremental, 4),
                    "f_extreme": round(fit.f_extreme, 4),
                    "residual": fit.residual,
                    "residual_fair": fit.residual_fair,
                    "method": fit.method,
                    "fair_peaks": len(fit.modes),
                },
            )
        )
    return out


def _station_findings(contest: str, an: Analysis) -> list[Finding]:
    a = an.arrays
    checks = [
        ("forensics.turnout_99", an.extreme_turnout, "a turnout of 99 % or more"),
        ("forensics.share_95", an.extreme_share, "one candidate with 95 % or more of the ballots"),
        (
            "forensics.stuffing_signature",
            an.outliers,
            "turnout and the leader's share both far above the contest's typical station",
        ),
    ] + [
        (code, mask, f"ballot accounting that breaks {code}")
        for code, mask in an.accounting.items()
    ]
    out = []
    for code, mask, what in checks:
        if mask.any():
            out.append(
                Finding(
                    code,
                    Severity.MEDIUM,
                    f"{contest}: {int(mask.sum()):,} stations with {what}",
                    contest=contest,
                    evidence=_stations(mask, a),
                )
            )
    return out


def _digit_findings(contest: str, an: Analysis) -> list[Finding]:
    out = []
    for name, test in an.digits.items():
        if test.n >= 1000 and (test.p_value < 1e-3 or test.p_value_0_5 < 1e-3):
            out.append(
                Finding(
                    "forensics.last_digits",
                    Severity.LOW,
                    f"{contest}: the last digits of {name}' vote counts are not uniform "
                    f"(chi² = {test.chi2:.0f}, {format_p(test.p_value)}; "
                    f"{100 * test.share_0_5:.1f} % end in 0 or 5, 20 % expected)",
                    contest=contest,
                    evidence={
                        "counts": test.counts.tolist(),
                        "n": test.n,
                        "chi2": test.chi2,
                        "p_value": test.p_value,
                        "share_0_5": test.share_0_5,
                        "p_value_0_5": test.p_value_0_5,
                    },
                )
            )
    return out
