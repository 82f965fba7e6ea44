"""Rich renderings of results, standings, findings and submission outcomes for the CLI."""

from __future__ import annotations

import re
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tallyproof.audit.replay import Issue
from tallyproof.audit.run import AuditReport
from tallyproof.domain.consolidation import ContestResult, ContestView
from tallyproof.domain.findings import Finding
from tallyproof.domain.standings import StandingRow
from tallyproof.domain.structure import ElectionStructure
from tallyproof.importers.stations import Mapping, ReadReport, Row
from tallyproof.service.claims import ReadClaims
from tallyproof.service.outcomes import Outcome
from tallyproof.service.reading import Change, FindingLife, FormEntry

SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def results_table(structure: ElectionStructure, results: Sequence[ContestResult]) -> Table:
    table = Table(title=f"{structure.election.name} — results", title_justify="left")
    for column in (
        "contest",
        "status",
        "winner / leader",
        "votes",
        "runner-up",
        "votes",
        "margin",
        "turnout",
        "stations",
    ):
        table.add_column(
            column, justify="right" if column in ("votes", "margin", "turnout") else "left"
        )
    for r in results:
        top = r.winner or r.leader
        second = r.runner_up
        status = r.status.value + (f" ({r.status_reason})" if r.status_reason else "")
        turnout = f"{r.turnout:.1%}" if r.turnout is not None else "—"
        basis = (
            "declared"
            if r.basis.value == "declared"
            else f"{r.stations_reported}/{r.stations_total}"
        )
        table.add_row(
            f"{r.contest} {r.name}",
            status,
            f"{top.name} · {top.affiliation}" if top else ("tie" if r.tied else "—"),
            f"{top.votes:,}" if top else "",
            f"{second.name} · {second.affiliation}" if second and top else "",
            f"{second.votes:,}" if second and top else "",
            f"{r.margin:,}" if top else "",
            turnout,
            basis,
        )
    return _unclipped(table)


def contest_table(result: ContestResult) -> Table:
    table = Table(
        title=f"{result.contest} {result.name} — {result.status.value}", title_justify="left"
    )
    table.add_column("candidate")
    table.add_column("side")
    table.add_column("votes", justify="right")
    table.add_column("share", justify="right")
    valid = sum(s.votes for s in result.ranking) or 1
    for s in result.ranking:
        table.add_row(s.name, s.affiliation, f"{s.votes:,}", f"{s.votes / valid:.1%}")
    table.caption = (
        f"rejected {result.rejected:,} · polled {result.polled:,} · stations "
        f"{result.stations_reported}/{result.stations_total} · basis {result.basis.value}"
        + (f" · turnout {result.turnout:.1%}" if result.turnout is not None else "")
    )
    return _unclipped(table)


def standings_table(structure: ElectionStructure, rows: Sequence[StandingRow]) -> Table:
    table = Table(title=f"{structure.election.name} — seats", title_justify="left")
    for column in ("assembly", "party / independents", "won", "leading"):
        table.add_column(column, justify="right" if column in ("won", "leading") else "left")
    for row in rows:
        table.add_row(row.assembly, row.side, str(row.won), str(row.leading))
    return _unclipped(table)


def findings_table(findings: Sequence[Finding], limit: int | None = None) -> Table:
    table = Table(title=f"findings ({len(findings)})", title_justify="left")
    table.add_column("severity")
    table.add_column("code")
    table.add_column("where")
    table.add_column("what", overflow="fold")
    for f in findings[:limit]:
        where = " ".join(x for x in (f.contest, f.station) if x)
        table.add_row(f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]", f.code, where, f.message)
    if limit is not None and len(findings) > limit:
        table.caption = f"{len(findings) - limit} more; use --json for all"
    return _unclipped(table)


def refusals_table(outcomes: Sequence[Outcome], where: Sequence[str], limit: int = 20) -> Table:
    table = Table(title="refused", title_justify="left")
    for column in ("input", "code", "field", "message"):
        table.add_column(column, overflow="fold")
    refused = [o for o in outcomes if not o.accepted]
    for o in refused[:limit]:
        for p in o.problems:
            table.add_row(where[o.index], p.code, p.field, p.message)
    if len(refused) > limit:
        table.caption = f"{len(refused) - limit} more refused; use --json for all"
    return _unclipped(table)


def audit_table(report: AuditReport, limit: int = 40) -> Group:
    """The checks made and their counts, in a table; under it, one line per problem (the
    first `limit` of them), left-aligned and in words, and how many more there are."""
    verdict = (
        "[green]the bundle checks out[/]"
        if report.ok
        else f"[bold red]{counted(len(report.issues), 'problem')}[/]"
    )
    table = Table(title=f"audit of {escape(report.bundle)}: {verdict}", title_justify="left")
    table.add_column("checked")
    table.add_column("count", justify="right")
    entries = ", ".join(f"{k} {v:,}" for k, v in sorted(report.entries.items()))
    table.add_row(f"ledger entries ({escape(entries)})", f"{report.tree_size:,}")
    table.add_row("signatures verified", f"{report.signatures_checked:,}")
    table.add_row("checkpoints (signature, root, consistency)", f"{report.checkpoints_checked:,}")
    table.add_row("contests re-tallied and compared", f"{report.contests_retallied:,}")
    _witness_rows(table, report.witnesses, report.checkpoints_given)
    table.add_row("root", report.root)
    parts: list[Any] = [_unclipped(table)]
    if report.issues:
        parts.append(Text(f"{_problems(len(report.issues))}:", style="bold red"))
        parts += [_Problem(issue) for issue in report.issues[:limit]]
    if len(report.issues) > limit:
        parts.append(
            Text(
                f"{_problems(len(report.issues) - limit, 'more ')} not shown: every problem is "
                "in the full report (--report FILE or --json)",
                style="bold",
            )
        )
    return Group(*parts)


def audit_line(issue: Issue) -> str:
    """One problem in words, on one line: its rule code; the entry (leaf index, kind and id),
    contest and station it is about, where known, else where it was found; and what is
    wrong. Of a message of several lines (a fork's signed notes) only the first is here."""
    place = []
    if issue.entry is not None:
        said = f"entry {issue.entry}"
        if issue.entry_id:
            said += f" ({issue.kind} {issue.entry_id})" if issue.kind else f" ({issue.entry_id})"
        place.append(said)
    if issue.contest and issue.station:
        place.append(f"{issue.contest} at station {issue.station}")
    elif issue.contest or issue.station:
        place.append(issue.contest or f"station {issue.station}")
    if not place:
        place.append(issue.where)
    first, _, rest = issue.message.partition("\n")
    if rest:
        first += (
            " (the signed notes are in the full report: --report FILE or --json)"
            if issue.code == "audit.fork"
            else " (the rest is in the full report: --report FILE or --json)"
        )
    return "  ".join([issue.code, *place, first])


class _Problem:
    """A problem's line, wrapped at the console's width with the lines after its first
    indented: every problem starts a line with its rule code, and nothing is cut."""

    INDENT = "    "

    def __init__(self, issue: Issue) -> None:
        self.code = issue.code
        self.line = audit_line(issue)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 2 * len(self.INDENT) + 1)
        wrapped = textwrap.wrap(
            self.line, width, subsequent_indent=self.INDENT, break_on_hyphens=False
        )
        for number, line in enumerate(wrapped or [self.line]):
            text = Text(line, justify="default", overflow="fold", no_wrap=False)  # left, unpadded
            if number == 0:
                text.stylize("red", 0, len(self.code))
            yield text


def _problems(count: int, more: str = "") -> str:
    return f"{count:,} {more}problem" + ("" if count == 1 else "s")


def _witness_rows(table: Table, found: dict[str, Any] | None, given: int) -> None:
    """Which witnesses cosigned, against whose policy, and how much of the log they cover."""
    if found is not None:
        policy = found["policy"]
        names = ", ".join(w["name"] for w in policy["witnesses"]) or "none"
        table.add_row(
            f"witness policy ({found['policy_from']}): quorum {policy['quorum']} of {names}",
            f"{len(policy['witnesses']):,}",
        )
        table.add_row("checkpoints witnessed by the quorum", f"{found['checkpoints_witnessed']:,}")
        newest = found["newest_witnessed"]
        if newest is not None:
            by = ", ".join(c["witness"] for c in newest["cosigned_by"])
            table.add_row(
                f"newest witnessed checkpoint (cosigned by {by})", f"{newest['tree_size']:,}"
            )
        table.add_row(
            "entries after the newest witnessed checkpoint",
            f"{found['entries_after_newest_witnessed']:,}",
        )
    if given:
        table.add_row("checkpoints from elsewhere checked for a fork", f"{given:,}")


def import_table(
    mapping: Mapping, read: ReadReport, rows: Sequence[Row], outcomes: Sequence[Outcome]
) -> Table:
    """What was read against the data set's own totals, and what the rules refused."""
    table = Table(title=f"import of {mapping.election['name']}", title_justify="left")
    for column in ("measure", "read", "data set says", ""):
        table.add_column(column, justify="right" if column != "measure" else "left")
    for key, value in sorted(
        read.totals.items(), key=lambda kv: (kv[0] not in mapping.totals, kv[0])
    ):
        expected = mapping.totals.get(key)
        mark = "" if expected is None else ("[green]✓[/]" if expected == value else "[red]✗[/]")
        table.add_row(key, f"{value:,}", f"{expected:,}" if expected is not None else "", mark)
    for reason, count in read.skipped.items():
        table.add_row(f"rows skipped: {reason}", f"{count:,}", "", "")
    if read.unreadable:
        table.add_row("rows unreadable", f"{len(read.unreadable):,}", "", read.unreadable[0][1])
    refused = Counter(p.code for o in outcomes if not o.accepted for p in o.problems)
    accepted = sum(1 for o in outcomes if o.accepted)
    table.add_row("stations accepted", f"{accepted:,}", "", "")
    for code, count in refused.most_common():
        example = next(o for o in outcomes if code in {p.code for p in o.problems})
        table.add_row(f"refused: {code}", f"{count:,}", "", f"row {rows[example.index].number}")
    return _unclipped(table)


def counted(n: int, noun: str) -> str:
    """ "1 claim", "2 claims", "0 reports": a count with its noun in the right number (every
    noun counted here takes an s)."""
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def claims_table(name: str, read: ReadClaims) -> Table:
    """One row per claim: what it says, who (a backed independent as "IND (PTI-backed)", never
    as the party's own), where it links (or why it does not), its words."""
    title = (
        f"{name}: {counted(len(read.claims), 'claim')} from {read.outlet or 'an unnamed outlet'}"
    )
    table = Table(title=title + (f", {read.published}" if read.published else ""))
    for column in ("kind", "says", "who", "contest", "link", "sentence"):
        table.add_column(column, overflow="fold")
    for c in read.claims:
        who = ", ".join(x for x in (c.candidate, c.side) if x)  # "Khosa, IND (PTI-backed)"
        link = c.candidate_id or c.contest_code or c.party_code
        link = f"[green]{link}[/]" if c.linked else f"[yellow]unlinked:[/] {c.unlinked}"
        quote = c.sentence if len(c.sentence) <= 70 else c.sentence[:67] + "..."
        table.add_row(str(c.kind), c.says, who, c.contest, link, quote)
    return _unclipped(table)


class _Escaping:
    """sys.stdout or sys.stderr as they are at each write, with any lone surrogate (what a
    command-line argument of non-UTF-8 bytes becomes) written as its escape, so echoing
    hostile input in a refusal can never crash the command."""

    def __init__(self, name: str) -> None:
        self._name = name

    def write(self, text: str) -> int:
        stream = getattr(sys, self._name)
        return stream.write(_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))

    def __getattr__(self, attribute: str) -> Any:
        return getattr(getattr(sys, self._name), attribute)


_SURROGATE = re.compile("[\ud800-\udfff]")


PIPED_WIDTH = 160  # a pipe has no width; Rich's 80 would squeeze every table


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else PIPED_WIDTH
    return Console(file=_Escaping("stderr" if stderr else "stdout"), highlight=False, width=width)


def _unclipped(table: Table) -> Table:
    """Numbers, ids, rule codes and hashes are folded onto the next line when a column is
    narrow, never cut with an ellipsis."""
    for column in table.columns:
        column.overflow = "fold"
        column.no_wrap = False
    return table


# --- the read side: answers as of a tree size --------------------------------------------


def _column(table: Table, name: str, number: bool = False) -> None:
    """Numbers, ids and codes are folded onto a second line when narrow, never cut."""
    table.add_column(name, justify="right" if number else "left", overflow="fold")


def _who(result: ContestResult) -> str:
    top = result.winner or result.leader
    if result.status.value in ("postponed", "suspended"):
        return "—"
    if top is None:
        return "tie" if result.tied else "no votes yet"
    return f"{top.name} · {top.affiliation} {top.votes:,}"


def views_table(structure: ElectionStructure, views: Sequence[ContestView], size: int) -> Table:
    """Each contest: the official result (declared once declared) beside the forms' sum."""
    table = Table(
        title=f"{structure.election.name} — results at tree size {size:,}", title_justify="left"
    )
    for name in ("contest", "status", "declared (Form 47)", "forms (Form 45)", "stations"):
        _column(table, name)
    _column(table, "turnout", number=True)
    for v in views:
        r = v.official
        status = r.status.value + (f" ({r.status_reason})" if r.status_reason else "")
        declared = _who(v.declared.result) if v.declared else "—"
        computed = _who(v.computed)
        if v.winner_differs:
            computed = f"[bold red]{computed} ≠[/]"
        turnout = f"{v.computed.turnout:.1%}" if v.computed.turnout is not None else "—"
        stations = f"{v.computed.stations_reported}/{v.computed.stations_total}"
        table.add_row(f"{r.contest} {r.name}", status, declared, computed, stations, turnout)
    if any(v.winner_differs for v in views):
        table.caption = "≠: the declared winner is not the winner of the polling-station forms"
    return _unclipped(table)


def contest_view_table(view: ContestView, size: int) -> Table:
    """One contest, candidate by candidate: declared, computed and the difference."""
    r = view.official
    table = Table(
        title=f"{r.contest} {r.name} — {r.status.value} at tree size {size:,}",
        title_justify="left",
    )
    for name, number in (("candidate", False), ("side", False), ("declared", True)):
        _column(table, name, number)
    for name in ("forms", "difference"):
        _column(table, name, number=True)
    declared = {s.candidate: s.votes for s in view.declared.result.ranking} if view.declared else {}
    for s in view.computed.ranking:
        d = declared.get(s.candidate)
        diff = view.differences.get(s.candidate)
        table.add_row(
            s.name,
            s.affiliation,
            f"{d:,}" if d is not None else "—",
            f"{s.votes:,}",
            f"[red]{diff:+,}[/]" if diff else "",
        )
    c = view.computed
    caption = (
        f"forms: {c.stations_reported}/{c.stations_total} stations, rejected {c.rejected:,}, "
        f"polled {c.polled:,}"
    )
    if view.declared:
        d = view.declared
        caption += f" · declared by {d.source} at {d.time}, entry {d.declaration_id} (leaf {d.seq})"
    if view.winner_differs:
        caption += " · THE DECLARED WINNER IS NOT THE FORMS' WINNER"
    table.caption = caption
    return _unclipped(table)


def re_polls_table(view: ContestView) -> Table | None:
    """The forms' totals before the re-polls (polling-day forms) and after, candidate by
    candidate, then each re-polled station before and after; None without re-polls."""
    r = view.re_polls
    if r is None:
        return None
    table = Table(
        title=f"{view.computed.contest}: before and after the re-poll", title_justify="left"
    )
    _column(table, "candidate")
    for name in ("before", "after", "change"):
        _column(table, name, number=True)
    for k in view.computed.candidates:
        change = r.change.get(k.id, 0)
        table.add_row(
            k.name, f"{r.before.get(k.id, 0):,}", f"{r.after.get(k.id, 0):,}", f"{change:+,}"
        )
    lines = []
    for st in r.stations:
        then = ", ".join(f"{c.split('/')[-1]} {n:,}" for c, n in st.before.items()) or "no form"
        now = (
            ", ".join(f"{c.split('/')[-1]} {n:,}" for c, n in st.after.items())
            if st.after is not None
            else "re-poll form not yet in"
        )
        lines.append(f"{st.station}: before {then}; after {now}")
    table.caption = "\n".join(lines)
    return _unclipped(table)


def standings_pair_table(
    structure: ElectionStructure, official: Sequence[StandingRow], forms: Sequence[StandingRow]
) -> Table:
    """Seats as declared (the forms' count where not declared) beside the forms alone."""
    by_forms = {(r.assembly, r.side): r for r in forms}
    table = Table(title=f"{structure.election.name} — seats", title_justify="left")
    _column(table, "assembly")
    _column(table, "party / independents")
    for name in ("won", "leading", "by the forms"):
        _column(table, name, number=True)
    keys = [(r.assembly, r.side) for r in official]
    keys += [k for k in by_forms if k not in set(keys)]
    rows = {(r.assembly, r.side): r for r in official}
    for key in keys:
        row, alt = rows.get(key), by_forms.get(key)
        won, leading = (row.won, row.leading) if row else (0, 0)
        table.add_row(
            key[0], key[1], str(won), str(leading), str(alt.won + alt.leading) if alt else "0"
        )
    table.caption = "by the forms: seats won or led if only the polling-station forms counted"
    return _unclipped(table)


def lives_table(lives: Sequence[FindingLife], limit: int | None = None) -> Table:
    """Findings with their life: when each opened and, if it did, was resolved."""
    table = Table(title=f"findings ({len(lives)})", title_justify="left")
    for name in ("severity", "code", "where", "opened", "resolved", "what"):
        _column(table, name)
    for life in lives[:limit]:
        f = life.finding
        where = " ".join(x for x in (f.contest, f.station) if x)
        opened = f"size {life.opened_size:,} (leaf {life.opened_by})"
        resolved = (
            f"size {life.resolved_size:,} (leaf {life.resolved_by})" if not life.open else "open"
        )
        table.add_row(
            f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]",
            f.code,
            where,
            opened,
            resolved,
            f.message,
        )
    if limit is not None and len(lives) > limit:
        table.caption = f"{len(lives) - limit} more; use --json for all"
    return _unclipped(table)


def forms_table(entries: Sequence[FormEntry], title: str) -> Table:
    """Every copy of every count, side by side; where a copy differs from the official one."""
    table = Table(title=title, title_justify="left")
    for name in ("station", "contest", "source", "leaf", "form id", "votes", "polled", "state"):
        _column(table, name, number=name in ("leaf", "polled"))
    for e in entries:
        r = e.record
        votes = ", ".join(f"{c.split('/')[-1]} {n:,}" for c, n in r.votes.items())
        state = "current" if e.current else "superseded"
        if r.supersedes:
            state += f" ({r.reason} of {r.supersedes})"
        if e.differs_from_official:
            state += f" [red]differs: {', '.join(e.differs_from_official)}[/]"
        if r.evidence:
            state += f" · scan sha256 {str(r.evidence['sha256'])[:12]}…"
            if r.evidence.get("transcribed_by"):
                state += f" by {r.evidence['transcribed_by']}"
        table.add_row(
            r.station, r.contest, r.source, str(r.seq), r.form_id, votes, f"{r.polled:,}", state
        )
    return _unclipped(table)


def history_table(changes: Sequence[Change], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("leaf", "received", "entry", "what", "findings"):
        _column(table, name, number=name == "leaf")
    for c in changes:
        found = [f"[red]+{f.code}[/]" for f in c.opened] + [
            f"[green]-{f.code}[/]" for f in c.resolved
        ]
        table.add_row(
            str(c.seq), c.received_at, f"{c.kind} {c.entry_id}", c.summary, " ".join(found)
        )
    table.caption = "+ a finding opened by that entry · - a finding it resolved"
    return _unclipped(table)
