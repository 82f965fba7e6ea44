"""What a person reads when a bundle fails its audit: the table of checks, then one line per
problem, in words (rule code, entry index and id, contest or station, published against
re-derived), and the same problems in the JSON report with their fields named."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from tallyproof import console as render
from tallyproof.audit.replay import Issue
from tallyproof.audit.run import AuditReport, audit_bundle
from tallyproof.export.bundle import export_bundle
from tallyproof.importers.plan import run_plan
from tallyproof.sample.generator import build_sample
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.audit.test_audit import first_form, lines, reseal, write_lines

CODE = re.compile(r"audit\.[a-z_]+")
REPR = re.compile(r"[{}]|(^|[\s(\[:,=])'")  # a dict, or a quoted string: 'x' (not "forms' sum")


@dataclass(frozen=True)
class Tampered:
    bundle: Path
    report: AuditReport
    entry: int  # the form whose votes were altered
    contest: str
    station: str
    candidate: str  # whose count in that form went up by 10
    published: int  # PS-129's saif-bari as the results now say
    derived: int  # and as the forms give


@pytest.fixture(scope="module")
def tampered(tmp_path_factory) -> Tampered:
    """The sample's bundle with one count of one form raised by 10 (resealed: the manifest's
    hashes match) and one published number of PS-129 lowered."""
    home = tmp_path_factory.mktemp("home")
    ctx = LedgerWriter.initialise(Settings.at(home))
    run_plan(ctx, build_sample())
    bundle = tmp_path_factory.mktemp("bundle") / "bundle"
    export_bundle(ctx, bundle)
    ctx.close()
    n = first_form(bundle)
    rows = lines(bundle)
    record = json.loads(rows[n])
    body = record["leaf"]["body"]
    candidate = next(iter(body["votes"]))
    body["votes"][candidate] += 10
    body["polled"] += 10
    rows[n] = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    write_lines(bundle, rows)
    results = json.loads((bundle / "results.json").read_text())
    ps129 = next(r for r in results["elections"]["pk-ge-2024"] if r["contest"] == "PS-129")
    derived = ps129["computed"]["votes"]["PS-129/saif-bari"]
    ps129["computed"]["votes"]["PS-129/saif-bari"] = 11000
    (bundle / "results.json").write_text(json.dumps(results))
    reseal(bundle)
    report = audit_bundle(bundle, workers=1)
    assert not report.ok
    return Tampered(bundle, report, n, body["contest"], body["station"], candidate, 11000, derived)


def rendered(report: AuditReport, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, highlight=False, color_system=None).print(
        render.audit_table(report)
    )
    return out.getvalue()


def split(text: str) -> tuple[str, list[str], list[str]]:
    """The checks table; each problem (its wrapped lines joined); and the lines after."""
    table, heading, rest = text.partition(" problems:\n")
    assert heading, text
    problems: list[str] = []
    after: list[str] = []
    for line in rest.splitlines():
        if line.startswith("    ") and problems and not after:
            problems[-1] += " " + line.strip()
        elif CODE.match(line) and not after:
            problems.append(line)
        else:
            after.append(line)
    return table, problems, after


@pytest.mark.parametrize("width", [100, 200])
def test_each_problem_is_one_left_aligned_line_in_words_below_the_checks(tampered, width):
    text = rendered(tampered.report, width)
    table, problems, after = split(text)
    # the checks, and none of the problems, in the table
    assert "signatures verified" in table and "contests re-tallied" in table
    assert not CODE.search(table), table
    assert "published" not in table and "does not verify" not in table
    # one line per problem, each starting with its rule code, up to 40, then how many more
    assert len(problems) == min(40, len(tampered.report.issues))
    for problem, issue in zip(problems, tampered.report.issues, strict=False):
        assert problem.startswith(issue.code + "  "), problem
        assert not REPR.search(problem), problem
    more = len(tampered.report.issues) - 40
    assert more > 0 and after == [
        f"{more:,} more problems not shown: every problem is in the full report "
        "(--report FILE or --json)"
    ]
    # no line is cut, none is right-aligned
    for line in text.splitlines()[
        text.splitlines().index(f"{len(tampered.report.issues)} problems:") :
    ]:
        assert len(line) <= width and line == line.rstrip() and not line.startswith(" " * 5)


@pytest.mark.parametrize("width", [100, 200])
def test_an_altered_entry_is_named_by_index_and_id_with_its_contest_and_station(tampered, width):
    _, problems, _ = split(rendered(tampered.report, width))
    signature = next(p for p in problems if p.startswith("audit.signature"))
    issue = next(i for i in tampered.report.issues if i.code == "audit.signature")
    assert issue.entry == tampered.entry and issue.kind == "form"
    assert issue.entry_id is not None and len(issue.entry_id) == 64
    assert (issue.contest, issue.station) == (tampered.contest, tampered.station)
    assert f"entry {tampered.entry} (form {issue.entry_id})" in signature
    assert f"{tampered.contest} at station {tampered.station}" in signature
    assert "the signature does not verify" in signature


@pytest.mark.parametrize("width", [100, 200])
def test_a_changed_result_names_contest_candidate_and_both_numbers(tampered, width):
    _, problems, _ = split(rendered(tampered.report, width))
    changed = [p for p in problems if p.startswith("audit.results  PS-129  ")]
    assert changed == [
        f"audit.results  PS-129  the forms' sum, candidate saif-bari: published "
        f"{tampered.published:,} votes, the forms give {tampered.derived:,}"
    ]
    assert tampered.derived >= 10_000  # shown with its thousands separator
    # the altered form's contest: its candidate's votes, both numbers in words
    short = tampered.candidate.removeprefix(f"{tampered.contest}/")
    votes = [p for p in problems if p.startswith(f"audit.results  {tampered.contest}  ")]
    assert any(
        re.fullmatch(
            rf"audit\.results  {tampered.contest}  candidate {short}: published "
            r"([0-9,]+) votes, the forms give ([0-9,]+)",
            p,
        )
        for p in votes
    ), votes


def test_the_json_report_keeps_its_fields_and_names_the_new_ones_when_known(tampered):
    issues = [i.as_dict() for i in tampered.report.issues]
    assert all({"code", "where", "message"} <= set(i) for i in issues)
    signature = next(i for i in issues if i["code"] == "audit.signature")
    assert signature["where"] == f"entry {tampered.entry}"
    assert signature["entry"] == tampered.entry and signature["kind"] == "form"
    assert signature["contest"] == tampered.contest
    assert signature["station"] == tampered.station
    assert "expected" not in signature  # only what is known is there
    result = next(i for i in issues if i["code"] == "audit.results" and i["contest"] == "PS-129")
    assert result["where"] == "results pk-ge-2024 PS-129"
    assert result["candidate"] == "PS-129/saif-bari" and result["field"] == "computed.votes"
    assert (result["expected"], result["found"]) == (tampered.derived, tampered.published)
    json.dumps(issues)  # all of it is JSON
    tree = next(i for i in issues if i["code"] == "audit.checkpoint_root")
    assert set(tree) == {"code", "where", "message"}


def test_no_message_holds_a_python_repr(tampered):
    for issue in tampered.report.issues:
        assert not REPR.search(issue.message), issue


def test_few_problems_need_no_more_line_and_a_fork_shows_its_first_line(tampered):
    report = AuditReport(str(tampered.bundle), issues=tampered.report.issues[:3])
    text = rendered(report, 100)
    _, problems, after = split(text)
    assert len(problems) == 3 and after == []
    fork = Issue(
        "audit.fork",
        "checkpoint 5",
        "the log signed two different trees of size 5: a and b; both signed notes follow\n"
        "a signed:\nnote one\n\nand b signed:\nnote two\n",
    )
    assert render.audit_line(fork) == (
        "audit.fork  checkpoint 5  the log signed two different trees of size 5: a and b; "
        "both signed notes follow (the signed notes are in the full report: --report FILE "
        "or --json)"
    )


def test_a_clean_report_prints_its_checks_and_no_problem():
    text = rendered(AuditReport("bundle"), 100)
    assert "the bundle checks out" in text and "problem" not in text
