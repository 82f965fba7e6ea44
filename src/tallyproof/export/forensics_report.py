"""The forensic report a newsroom can put online: per contest, PNG and SVG figures, each with
a caption that says what the reader sees and what it does not prove and alt text carrying the
key numbers; the caveats beside the numbers; CSVs of the stations worth a call, under the
data set's own names; one HTML page that reads on a desktop and on a phone."""

from __future__ import annotations

import csv
import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no screen on a server

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from tallyproof.domain.findings import Finding
from tallyproof.forensics.extremes import SHARE_EXTREME, TURNOUT_EXTREME
from tallyproof.forensics.fingerprint import fingerprint
from tallyproof.forensics.integer import IntegerTest
from tallyproof.forensics.report import STAGES, Analysis, format_p
from tallyproof.service.forensics import MODEL_MIN_STATIONS, READING

# Okabe & Ito's palette: told apart under every common colour-vision deficiency.
BLUE, VERMILLION, GREY = "#0072B2", "#D55E00", "#666666"
FIGURES, CSV_FILES = "figures", "CSV files"  # the report's progress stages, after analyse's
ALL_STAGES = (READING, *STAGES, FIGURES, CSV_FILES)  # what `forensics` shows a bar for
CLIP_FACTOR = 1.15  # the y-axis: this much above the tallest bar below ...
CLIP_BELOW = 99.5  # ... this percentage; the 100 % bar may then be cut off, and labelled
_ANNOTATED = 3  # at most this many cut-off bars get their count written on them

Progress = Callable[[str, int, int], None]
THOUSANDS = FuncFormatter(lambda x, _: f"{x:,.0f}")

# Large type: on a phone the figures are shown at a third of their size.
plt.rcParams.update({"font.size": 13, "axes.titlesize": 14, "svg.fonttype": "none"})


@dataclass(frozen=True)
class Figure:
    """A saved figure and the words that go with it on the page."""

    png: str
    svg: str
    alt: str  # for a reader who cannot see it: what it shows, with the numbers
    caption: str  # HTML: what the reader sees, and what it does not prove


@dataclass(frozen=True)
class Download:
    file: str
    rows: int
    what: str


@dataclass(frozen=True)
class Histogram:
    """A drawn histogram and what the page says about it: the axis limit and the bars
    taller than it (cut off at the top, their counts written on them)."""

    figure: MplFigure
    axes: Axes
    limit: float
    clipped: tuple[tuple[float, int], ...]  # (bin centre in %, stations)
    stations: int  # drawn
    outside: int  # above 100 %, not drawn


def _save(fig: MplFigure, directory: Path, stem: str) -> tuple[str, str]:
    fig.savefig(directory / f"{stem}.png", dpi=150, bbox_inches="tight")
    fig.savefig(directory / f"{stem}.svg", bbox_inches="tight")
    plt.close(fig)
    return f"{stem}.png", f"{stem}.svg"


def _pct(x: float) -> str:
    return f"{x:.0f} %" if float(x).is_integer() else f"{x:.1f} %"


def draw_histogram(values: np.ndarray, label: str, title: str) -> Histogram:
    """Stations per 0.1 %-wide bin from 0 % to 100 %, the bins centred on whole percentages
    in vermillion. The y-axis is set by the bars below 99.5 % (the 100 % bar of a Russian
    election would otherwise squeeze every other bar flat); a taller bar is drawn cut off at
    the top, with its count written on it, so the reader still sees it."""
    pct = 100 * values[np.isfinite(values)]
    counts, edges = np.histogram(pct, bins=1001, range=(-0.05, 100.05))
    centres = np.round((edges[:-1] + edges[1:]) / 2, 1)
    integer = np.isclose(centres, np.rint(centres), atol=1e-6)
    limit = CLIP_FACTOR * max(float(counts[centres < CLIP_BELOW].max()), 1.0)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.bar(centres[~integer], counts[~integer], width=0.1, color=BLUE, label="other 0.1 % bins")
    ax.bar(
        centres[integer],
        counts[integer],
        width=0.1,
        color=VERMILLION,
        label="bins on a whole percentage",
    )
    ax.set_xlim(-0.5, 101)
    ax.set_ylim(0, limit)
    clipped = tuple((float(c), int(n)) for c, n in zip(centres, counts, strict=True) if n > limit)
    _mark_clipped(ax, clipped, limit)
    ax.set_xlabel(label)
    ax.set_ylabel("stations per 0.1 % bin")
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_title(title, loc="left", pad=30)
    ax.legend(  # between the title and the bars, where no spike can run into it
        loc="lower left", bbox_to_anchor=(0, 1), ncol=2, frameon=False, fontsize=11
    )
    ax.spines[["top", "right"]].set_visible(False)
    return Histogram(fig, ax, limit, clipped, int(counts.sum()), int((pct > 100.05).sum()))


def _mark_clipped(ax: Axes, clipped: tuple[tuple[float, int], ...], limit: float) -> None:
    """A triangle on each cut-off bar, and the counts of the tallest few written beside: a
    bar near 100 % gets its count above the plot, in the title's row (right of the title,
    where no bar can run into it); one further left, inside the plot beside its bar."""
    for centre, _ in clipped:
        ax.plot(centre, limit, marker="^", color=VERMILLION, markersize=9, clip_on=False)
    tallest = sorted(clipped, key=lambda c: -c[1])[:_ANNOTATED]
    for k, (centre, n) in enumerate(sorted(tallest)):
        right = centre > 70
        ax.annotate(
            f"{_pct(centre)}: {n:,} stations ↑",
            xy=(centre, limit),
            xytext=(0, 30 + 18 * k) if right else (8, -16 - 18 * k),
            textcoords="offset points",
            ha="right" if right else "left",
            va="bottom" if right else "top",
            fontsize=11,
            fontweight="bold",
            color="#222222",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": VERMILLION, "lw": 1},
        )


def draw_fingerprint(an: Analysis, title: str) -> tuple[MplFigure, Axes]:
    """Stations per 1 × 1 point cell of turnout and the leader's share, on a log scale
    (empty cells white): the 'fingerprint' of Klimek et al."""
    a = an.arrays
    counts = fingerprint(a.turnout, a.share(), bins=100) * np.isfinite(a.turnout).sum()
    fig, ax = plt.subplots(figsize=(6, 5.2))
    image = ax.imshow(
        np.ma.masked_less(counts.T, 0.5),
        origin="lower",
        extent=(0, 100, 0, 100),
        cmap="viridis",
        norm=LogNorm(vmin=1, vmax=max(2.0, float(counts.max()))),
        aspect="equal",
        interpolation="nearest",
    )
    ax.set_xlabel("turnout, %")
    ax.set_ylabel(f"share of {_short(a.leader_name)}, %")
    ax.set_title(title, loc="left")
    bar = fig.colorbar(image, ax=ax, label="stations per 1 × 1 point cell", shrink=0.85)
    bar.ax.yaxis.set_major_formatter(THOUSANDS)
    return fig, ax


def draw_last_digits(an: Analysis, title: str) -> tuple[MplFigure, Axes]:
    test = an.digits["all candidates"]
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = [VERMILLION if d in (0, 5) else BLUE for d in range(10)]
    ax.bar(range(10), test.counts, color=colours)
    even = ax.axhline(test.n / 10, color="black", linestyle="--")
    ax.legend(
        [even, Patch(color=VERMILLION), Patch(color=BLUE)],
        ["expected if all digits\nwere equally likely", "0 and 5", "other digits"],
        loc="upper right",
        frameon=False,
        fontsize=10,
    )
    ax.set_xticks(range(10))
    ax.set_xlabel("last digit (vote counts of 10 or more)")
    ax.set_ylabel("vote counts")
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_ylim(0, max(test.counts.max(), test.n / 10) * 1.3 if test.n else 1)
    ax.set_title(title, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _short(name: str, most: int = 40) -> str:
    return name if len(name) <= most else name[: most - 1] + "…"


def _histogram_figure(an: Analysis, quantity: str, directory: Path, code: str, stem: str) -> Figure:
    a = an.arrays
    values = a.turnout if quantity == "turnout" else a.share()
    what = "turnout" if quantity == "turnout" else f"the share of {a.leader_name}"
    label = "turnout, %" if quantity == "turnout" else f"share of {_short(a.leader_name)}, %"
    heading = "turnout" if quantity == "turnout" else "leader's share"
    drawn = draw_histogram(values, label, f"{code}: {heading}")
    png, svg = _save(drawn.figure, directory, stem)
    t = an.integer[quantity]
    cut = "; ".join(f"{n:,} stations at {_pct(c)}" for c, n in drawn.clipped)
    cut_alt = f" The bar for {cut} is taller than the chart and cut off." if cut else ""
    cut_caption = (
        f" Bars taller than the chart are cut off, their counts written on them ({cut})."
        if cut
        else ""
    )
    outside = (
        f" {drawn.outside:,} stations above 100 % (more ballots issued than voters) are not drawn."
        if drawn.outside
        else ""
    )
    alt = (
        f"Histogram of {what} at {drawn.stations:,} stations in 0.1-point bins, bins on "
        f"whole percentages in red.{cut_alt} Of the {t.stations:,} stations tested, "
        f"{t.observed:,} sit on a whole percentage against {t.expected:,.0f} expected by "
        f"chance."
    )
    caption = (
        f"<b>{html.escape(what[0].upper() + what[1:])}, station by station.</b> Each bar "
        "counts the stations in a 0.1-point bin; the red bars are the bins centred on whole "
        "percentages. Where numbers are counted, red bars look like their neighbours; where "
        "some are written down to order, round numbers stand out as spikes. Here "
        f"{t.observed:,} of the {t.stations:,} stations tested sit on a whole percentage, "
        f"against {t.expected:,.0f} ± {t.spread:,.0f} by chance "
        f"({format_p(t.p_value, t.replicates)}).{cut_caption}{outside} "
        "<i>What it does not prove:</i> a spike says round numbers are too common across "
        "many stations, not which station's number was made up; high turnout or support "
        "can be honest."
    )
    return Figure(png, svg, alt, caption)


def _fingerprint_figure(an: Analysis, directory: Path, code: str, stem: str) -> Figure:
    fig, _ = draw_fingerprint(an, f"{code}: turnout × leader's share")
    png, svg = _save(fig, directory, stem)
    a, fit = an.arrays, an.fit
    corner = int(((a.turnout >= 0.95) & (a.share() >= 0.95)).sum())
    alt = (
        f"Two-dimensional histogram of turnout against the share of {a.leader_name} at "
        f"{a.size:,} stations; {corner:,} stations have both at 95 % or more. The fraud "
        f"model fitted to it gives f_i = {fit.f_incremental:.2f} and f_e = "
        f"{fit.f_extreme:.3f}."
    )
    caption = (
        "<b>Turnout against the leader's share.</b> Each cell counts the stations with that "
        "turnout (across) and that share of the vote for the leader (up); brighter is more "
        "stations, on a log scale, white is none. Honest elections tend to draw one compact "
        "cloud (or one per region that votes alike); ballots added for the leader drag "
        "stations up and to the right, towards the top-right corner, where "
        f"{corner:,} stations have both turnout and share of 95 % or more. "
        "<i>What it does not prove:</i> regions that vote very differently, or small closed "
        "stations (hospitals, barracks) where nearly everyone votes, can draw a similar smear "
        "honestly."
    )
    return Figure(png, svg, alt, caption)


def _digits_figure(an: Analysis, directory: Path, code: str, stem: str) -> Figure:
    fig, _ = draw_last_digits(an, f"{code}: last digits")
    png, svg = _save(fig, directory, stem)
    test = an.digits["all candidates"]
    alt = (
        f"Bar chart of the last digit of {test.n:,} vote counts of 10 or more, every "
        f"candidate at every station; {100 * test.share_0_5:.1f} % end in 0 or 5, against "
        "20 % if "
        "every digit were equally likely."
    )
    caption = (
        "<b>The last digit of every vote count of 10 or more.</b> Counted numbers end in "
        "each digit about equally often (the dashed line); numbers people make up favour "
        "some digits, 0 and 5 (red) most. Here "
        f"{100 * test.share_0_5:.1f} % end in 0 or 5 (20 % expected; χ² = {test.chi2:,.0f}, "
        f"{format_p(test.p_value)} for equal digits). <i>What it does not prove:</i> with "
        "hundreds of thousands of counts, tiny departures become 'significant', and the "
        "small counts of minor candidates are not uniform even when honest; this test fails "
        "on most real elections and weighs least of all."
    )
    return Figure(png, svg, alt, caption)


def write_figures(
    an: Analysis, code: str, directory: Path, progress: Progress | None = None
) -> dict[str, Figure]:
    """The contest's four figures, as PNG and SVG, with their captions and alt text."""
    stem = _stem(code)
    makers: dict[str, Callable[[], Figure]] = {
        "turnout": lambda: _histogram_figure(an, "turnout", directory, code, f"{stem}-turnout"),
        "share": lambda: _histogram_figure(an, "share", directory, code, f"{stem}-share"),
        "fingerprint": lambda: _fingerprint_figure(an, directory, code, f"{stem}-fingerprint"),
        "digits": lambda: _digits_figure(an, directory, code, f"{stem}-digits"),
    }
    figures = {}
    for done, (name, make) in enumerate(makers.items()):
        if progress:
            progress(FIGURES, done, len(makers))
        figures[name] = make()
    if progress:
        progress(FIGURES, len(makers), len(makers))
    return figures


def _stem(code: str) -> str:
    return code.replace("/", "_")


# --- the stations, as CSV -------------------------------------------------------------------

# UTF-8 with a byte-order mark: Excel then reads the Cyrillic (or any) names right; every
# other reader of CSV skips the mark.
_ENCODING = "utf-8-sig"

_REASONS = {
    "turnout_99": f"turnout of {100 * TURNOUT_EXTREME:.0f} % or more",
    "share_95": f"one candidate with {100 * SHARE_EXTREME:.0f} % or more of the ballots",
    "stuffing_signature": "turnout and the leader's share both far above the region's",
    "ballots.exceeds_registered": "more ballots in the boxes than registered voters",
    "ballots.issued_exceeds_registered": "more ballots issued than registered voters",
    "ballots.more_in_boxes_than_issued": "more ballots in the boxes than were issued",
    "ballots.accounting_mismatch": "valid + rejected ballots differ from ballots in the boxes",
}


def _station_columns(an: Analysis, rows: np.ndarray) -> dict[str, list[object]]:
    """What every station CSV starts with: who the station is and its numbers."""
    a = an.arrays
    leader = a.votes[:, a.leader]
    return {
        "station_id": a.station[rows].tolist(),
        "station": a.display_names[rows].tolist(),
        "region": a.region[rows].tolist(),
        "registered": a.registered[rows].tolist(),
        "ballots_issued": a.issued[rows].tolist(),
        "ballots_in_boxes": a.polled[rows].tolist(),
        "rejected": a.rejected[rows].tolist(),
        "leader_votes": leader[rows].tolist(),
        "turnout_pct": _percentages(a.turnout[rows]),
        "leader_share_pct": _percentages(a.share()[rows]),
    }


def _percentages(values: np.ndarray) -> list[str]:
    return ["" if not np.isfinite(v) else f"{100 * v:.2f}" for v in values]


def _tested(hits: np.ndarray) -> list[str]:
    """1 on an integer, 0 off it, empty where the station filter left the station out."""
    return ["" if h < 0 else str(int(h)) for h in hits]


def flagged_table(an: Analysis) -> dict[str, list[object]]:
    """Every station of `Analysis.stations_to_check`, with one 0/1 column per reason and the
    reasons in words. The integer columns say whether the station sits on a whole
    percentage: context for a reporter, never a reason to list a station (see
    `integer_table`)."""
    a = an.arrays
    rows = np.flatnonzero(an.stations_to_check())
    names = a.names or a.candidates
    flags: dict[str, np.ndarray] = {
        "turnout_99": an.extreme_turnout[rows],
        "share_95": an.extreme_share[rows],
        "stuffing_signature": an.outliers[rows],
    } | {code: mask[rows] for code, mask in an.accounting.items()}
    candidate = [
        names[k] if hit else ""
        for k, hit in zip(an.extreme_share_candidate[rows], flags["share_95"], strict=True)
    ]
    reasons = [
        "; ".join(_REASONS[name] for name, mask in flags.items() if mask[i])
        for i in range(rows.size)
    ]
    columns = _station_columns(an, rows)
    for name, mask in flags.items():
        columns[name] = mask.astype(int).tolist()
        if name == "share_95":
            columns["share_95_candidate"] = candidate
    columns["integer_turnout"] = _tested(an.integer_hits("turnout")[rows])
    columns["integer_share"] = _tested(an.integer_hits("share")[rows])
    columns["reasons"] = reasons
    return columns


def integer_table(an: Analysis) -> dict[str, list[object]]:
    """The tested stations whose turnout or leader's share sits on a whole percentage, with
    each one's chance of that under the binomial null. Kept apart from the flagged stations:
    any one of them may be there by chance (the chance is in the table); it is their number
    in a region, against the expected number, that says something."""
    turnout, share = an.integer_hits("turnout"), an.integer_hits("share")
    rows = np.flatnonzero((turnout == 1) | (share == 1))
    chance_t = np.full(an.arrays.size, np.nan)
    chance_s = np.full(an.arrays.size, np.nan)
    chance_t[an.integer_filter] = an.integer["turnout"].probability
    chance_s[an.integer_filter] = an.integer["share"].probability
    columns = _station_columns(an, rows)
    columns["integer_turnout"] = _tested(turnout[rows])
    columns["integer_share"] = _tested(share[rows])
    columns["chance_turnout_on_integer"] = [f"{q:.4f}" for q in chance_t[rows]]
    columns["chance_share_on_integer"] = [f"{q:.4f}" for q in chance_s[rows]]
    return columns


def _write_csv(path: Path, columns: dict[str, list[object]]) -> int:
    rows = list(zip(*columns.values(), strict=True))
    with path.open("w", newline="", encoding=_ENCODING) as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    return len(rows)


def write_station_csvs(
    an: Analysis, code: str, directory: Path, progress: Progress | None = None
) -> list[Download]:
    """`<stem>-flagged-stations.csv` (every station worth a call, no cap) and
    `<stem>-integer-stations.csv` (the stations on whole percentages)."""
    stem = _stem(code)
    tables = [
        ("flagged-stations", flagged_table, "stations to look at, and why"),
        ("integer-stations", integer_table, "stations on a whole percentage"),
    ]
    out = []
    for done, (name, table, what) in enumerate(tables):
        if progress:
            progress(CSV_FILES, done, len(tables))
        file = f"{stem}-{name}.csv"
        out.append(Download(file, _write_csv(directory / file, table(an)), what))
    if progress:
        progress(CSV_FILES, len(tables), len(tables))
    return out


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContestReport:
    code: str
    analysis: Analysis
    findings: list[Finding]
    figures: dict[str, Figure]
    downloads: list[Download]


def write_contest(
    directory: Path,
    code: str,
    an: Analysis,
    found: list[Finding],
    progress: Progress | None = None,
) -> ContestReport:
    """One contest's figures and CSVs in `directory`, for `write_page`."""
    directory.mkdir(parents=True, exist_ok=True)
    figures = write_figures(an, code, directory, progress)
    downloads = write_station_csvs(an, code, directory, progress)
    return ContestReport(code, an, found, figures, downloads)


def write_page(directory: Path, title: str, contests: list[ContestReport]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    replicates = {c.analysis.integer["either"].replicates for c in contests}
    body = "\n".join(_section(c) for c in contests)
    page = directory / "index.html"
    page.write_text(
        _PAGE.format(
            title=html.escape(title),
            intro=_INTRO,
            caveats=_caveats(max(replicates, default=1000)),
            body=body,
            methods=_METHODS,
            css=_CSS,
        ),
        "utf-8",
    )
    return page


def write_report(
    directory: Path,
    title: str,
    contests: list[tuple[str, Analysis, list[Finding]]],
    progress: Progress | None = None,
) -> Path:
    """Figures, CSVs and index.html in `directory`; returns the page."""
    done = [write_contest(directory, code, an, found, progress) for code, an, found in contests]
    return write_page(directory, title, done)


def _section(c: ContestReport) -> str:
    an = c.analysis
    return f"""<section id="{html.escape(_stem(c.code))}">
<h2>{html.escape(c.code)}: {an.arrays.size:,} stations</h2>
{_downloads(c.downloads)}
<h3>Integer percentages: too many round numbers?</h3>
{_integer_part(an)}
<div class="wide">{_figure(c.figures["turnout"])}{_figure(c.figures["share"])}</div>
{_regions(an)}
<h3>The shape of the vote: turnout against the leader's share</h3>
<div class="pair">{_figure(c.figures["fingerprint"])}<div>{_model_part(an)}</div></div>
<h3>Last digits</h3>
<div class="pair">{_figure(c.figures["digits"])}<div>{_digits_part(an)}</div></div>
<h3>Stations that stand out</h3>
{_stations_part(an, c.downloads)}
<h3>Findings</h3>
<p>What the checks above amount to, in the words tallyproof records them with (high, medium
and low say how strong the statistical signal is, not how much fraud there was).</p>
{_findings(c.findings)}
</section>"""


def _figure(f: Figure) -> str:
    return (
        f'<figure><a href="{html.escape(f.png)}"><img src="{html.escape(f.png)}" '
        f'alt="{html.escape(f.alt)}" loading="lazy"></a>'
        f'<figcaption>{f.caption} <a href="{html.escape(f.svg)}">SVG</a></figcaption></figure>'
    )


def _downloads(downloads: list[Download]) -> str:
    items = "".join(
        f'<li><a href="{html.escape(d.file)}" download>{html.escape(d.file)}</a>: '
        f"{html.escape(d.what)}, {d.rows:,} {'row' if d.rows == 1 else 'rows'}</li>"
        for d in downloads
    )
    return (
        f'<div class="downloads"><p><b>Download</b> (CSV, UTF-8; opens in Excel with the '
        f"names intact):</p><ul>{items}</ul></div>"
    )


_INTEGER_NAMES = {
    "turnout": "turnout",
    "share": "leader's share",
    "either": "either one",
}


def _integer_row(name: str, t: IntegerTest) -> str:
    return (
        f"<tr><th scope=row>{_INTEGER_NAMES.get(name, name)}</th><td>{t.stations:,}</td>"
        f"<td>{t.observed:,}</td><td>{t.expected:,.0f}</td><td>{t.spread:,.0f}</td>"
        f"<td>{t.excess:+,.0f}</td><td>{t.z:.1f}</td>"
        f"<td>{html.escape(format_p(t.p_value, t.replicates))}</td></tr>"
    )


def _integer_part(an: Analysis) -> str:
    either = an.integer["either"]
    rows = "".join(_integer_row(name, t) for name, t in an.integer.items())
    return f"""<p>How many stations report a turnout or a leader's share that is a whole
percentage (within ±{either.window} points), against how many would by chance if every
station's numbers had been counted honestly. {html.escape(either.station_filter.describe())}</p>
<div class="scroll"><table>
<caption>Stations on a whole percentage, observed and expected by chance</caption>
<thead><tr><th scope=col>percentage</th><th scope=col>stations kept</th>
<th scope=col>observed on a whole %</th><th scope=col>expected by chance</th>
<th scope=col>± spread</th><th scope=col>excess (stations)</th>
<th scope=col>z (spreads above chance)</th><th scope=col>p</th></tr></thead>
<tbody>{rows}</tbody></table></div>
<p class="note">Chance here: each station's count is redrawn as a binomial draw with its own
observed rate, {either.replicates:,} times; "expected" is the average of those
replicates, "± spread" their standard deviation, z the excess in spreads. An excess says round
numbers are more common than counting gives, across the contest; it does not say at which
station. A station lands on a whole percentage by chance about one time in
{1 / max(float(either.probability.mean()), 1e-9):.0f} (turnout or share).</p>"""


def _regions(an: Analysis) -> str:
    top = [r for r in an.regions if r.z >= 3][:15]
    if not top:
        return (
            "<p>No region has significantly more stations on whole percentages than chance "
            "gives (z ≥ 3).</p>"
        )
    rows = "".join(
        f"<tr><th scope=row>{html.escape(r.region)}</th><td>{r.stations:,}</td>"
        f"<td>{r.observed:,}</td><td>{r.expected:,.0f}</td><td>{r.spread:,.0f}</td>"
        f"<td>{r.observed - r.expected:+,.0f}</td><td>{r.z:.1f}</td></tr>"
        for r in top
    )
    return f"""<p>The excess is a regional signal: these regions carry most of it (z ≥ 3,
up to 15 shown, strongest first).</p>
<div class="scroll"><table><caption>Regions with more stations on whole percentages than
chance gives</caption>
<thead><tr><th scope=col>region</th><th scope=col>stations kept</th>
<th scope=col>observed on a whole %</th><th scope=col>expected by chance</th>
<th scope=col>± spread</th><th scope=col>excess (stations)</th><th scope=col>z</th></tr>
</thead><tbody>{rows}</tbody></table></div>"""


def _model_part(an: Analysis) -> str:
    fit = an.fit
    modes = getattr(fit, "modes", ())
    method = getattr(fit, "method", "")
    peaks = ""
    if modes:
        listed = "; ".join(
            f"turnout {100 * m.turnout_mean:.0f} % ± {100 * m.turnout_sd:.0f}, share "
            f"{100 * m.share_mean:.0f} % ± {100 * m.share_sd:.0f} ({100 * m.weight:.0f} % of "
            "stations)"
            for m in modes
        )
        peaks = f" Fair peaks fitted ({html.escape(method)}): {listed}."
    else:
        peaks = (
            f" Fair peak fitted: turnout {100 * fit.turnout_mean:.0f} % ± "
            f"{100 * fit.turnout_sd:.0f}, share {100 * fit.share_mean:.0f} % ± "
            f"{100 * fit.share_sd:.0f}."
        )
    return f"""{_model_size_note(an)}<p>The model of Klimek et al. (2012) reads this picture
as a mix of fair stations, stations under <i>incremental</i> fraud (some ballots added for
the leader, some votes moved to the leader) and stations under <i>extreme</i> fraud (nearly
all). Fitted: f<sub>i</sub> = {fit.f_incremental:.2f} (share of stations that look
incrementally rigged), f<sub>e</sub> = {fit.f_extreme:.3f} (share that look extremely
rigged).{peaks} Fit: residual {fit.residual:.2g} against {fit.residual_fair:.2g} for a fair
election.</p>
<p class="caveat"><b>Read with care.</b> This is a statistical pattern, not proof of fraud.
f<sub>i</sub> is a lower bound: a few per cent more ballots at many stations look like a fair
peak a little higher up, so the model under-counts them. The model assumes one fair peak (or
a few); where regions vote very differently, honest differences can look like fraud to it, or
hide it. It says nothing about any particular station.</p>"""


def _digits_part(an: Analysis) -> str:
    rows = "".join(
        f"<tr><th scope=row>{html.escape(name)}</th><td>{t.n:,}</td>"
        f"<td>{100 * t.share_0_5:.1f} %</td><td>{t.chi2:,.0f}</td>"
        f"<td>{html.escape(format_p(t.p_value))}</td></tr>"
        for name, t in an.digits.items()
    )
    return f"""<p>Beber &amp; Scacco (2012): the last digit of honest counts of 10 or more is
close to uniform. Weak evidence on its own: it reacts to the many small counts of minor
candidates as much as to invented numbers.</p>
<div class="scroll"><table><caption>Last digits of vote counts of 10 or more</caption>
<thead><tr><th scope=col>counts of</th><th scope=col>vote counts</th>
<th scope=col>ending in 0 or 5 (20 % expected)</th><th scope=col>χ² (9 degrees of
freedom)</th><th scope=col>p (all digits equally likely)</th></tr></thead>
<tbody>{rows}</tbody></table></div>"""


def _model_size_note(an: Analysis) -> str:
    if an.arrays.size >= MODEL_MIN_STATIONS:
        return ""
    return (
        f'<p class="caveat"><b>Only {an.arrays.size:,} stations: too few for the model '
        f"(it needs {MODEL_MIN_STATIONS:,}); no finding is raised from it.</b></p>"
    )


def _stations_part(an: Analysis, downloads: list[Download]) -> str:
    counts = {
        "turnout_99": an.extreme_turnout,
        "share_95": an.extreme_share,
        "stuffing_signature": an.outliers,
    } | an.accounting
    rows = "".join(
        f"<tr><th scope=row>{html.escape(_REASONS[name])}</th><td>{int(mask.sum()):,}</td></tr>"
        for name, mask in counts.items()
    )
    total = int(an.stations_to_check().sum())
    flagged = next((d for d in downloads if d.file.endswith("flagged-stations.csv")), None)
    link = (
        f' (<a href="{html.escape(flagged.file)}" download>{html.escape(flagged.file)}</a>, '
        f"{flagged.rows:,} rows, with each station's name, region and numbers)"
        if flagged
        else ""
    )
    return f"""<p>{total:,} stations meet at least one of these tests{link}. A station on
this list is a place to look (ask for its protocol, its photo, its observers' reports), not
an accusation: small closed stations such as hospitals, barracks or ships can honestly vote
as one. Stations on a whole percentage are not listed here, since any one of them may be
there by chance; they are in the second CSV, with that chance.</p>
<div class="scroll"><table><caption>Stations by reason (one station may meet
several)</caption><thead><tr><th scope=col>test</th><th scope=col>stations</th></tr></thead>
<tbody>{rows}</tbody></table></div>"""


def _findings(found: list[Finding]) -> str:
    items = "".join(
        f"<li><b>{html.escape(str(f.severity))}</b> <code>{html.escape(f.code)}</code> "
        f"{html.escape(f.message)}</li>"
        for f in found
    )
    return f"<ul>{items or '<li>none</li>'}</ul>"


def _caveats(replicates: int) -> str:
    return f"""<aside class="caveat" aria-label="How to read this report">
<h2>Read this first</h2>
<ul>
<li><b>These tests never prove fraud.</b> They say which numbers are unlikely under honest
counting, by how much, and where to look.</li>
<li><b>Chance, here,</b> is honest counting: each station's numbers redrawn at random
(binomially) around its own observed rates, {replicates:,} times.</li>
<li><b>Too many round percentages point at regions, not stations.</b> Any one station can
land on a whole percentage by chance; only the surplus across many stations means
something.</li>
<li><b>The fraud model's f<sub>i</sub> is a lower bound,</b> and the model assumes one or a
few fair peaks; it describes a shape, not what happened at any station.</li>
<li><b>A flagged station is a place to look, not an accusation.</b> Check its protocol and
ask the people who were there before reporting anything about it.</li>
</ul></aside>"""


_INTRO = """<p class="lead">These checks look at every polling station's own numbers (voters
registered, ballots issued, votes per candidate) for the patterns that counting leaves and
that writing numbers down to order tends to break: too many round percentages, stations
where turnout and the winner's share climb together, impossible ballot accounting. They
tell you where to look first; what happened there is for reporting to find out.</p>"""

_METHODS = """<section id="method"><h2>Method notes</h2>
<ul>
<li><b>Integer percentages.</b> A station is on a whole percentage when its turnout (ballots
issued / registered) or its leader's share (leader's votes / ballots in the boxes) is within
0.05 points of a whole number. The expected count comes from Monte Carlo replicates of the
binomial null, seeded (the same seed gives the same numbers). D. Kobak, S. Shpilkin,
M. S. Pshenichnikov, <i>Integer percentages as electoral falsification fingerprints</i>,
Annals of Applied Statistics 10(1), 54–73, 2016.</li>
<li><b>Fingerprint and fraud model.</b> The 2D histogram of turnout and the leader's share,
and a mixture of fair, incrementally and extremely rigged stations fitted to it by least
squares. P. Klimek, Y. Yegorov, R. Hanel, S. Thurner, <i>Statistical detection of systematic
election irregularities</i>, PNAS 109(41), 16469–16473, 2012.</li>
<li><b>Last digits.</b> χ² test of equal last digits over vote counts of 10 or more.
B. Beber, A. Scacco, <i>What the numbers say: a digit-based test for election fraud</i>,
Political Analysis 20(2), 211–234, 2012.</li>
<li><b>Stations that stand out.</b> Turnout of 99 % or more; one candidate with 95 % or more
of the ballots (stations of 10 ballots or more); turnout 3.5 robust deviations above the
station's own region together with the leader's share above it; ballot accounting that does
not add up.</li>
</ul></section>"""

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;
color:#1a1a1a;margin:0 auto;max-width:75rem;padding:1rem 1.25rem 3rem}
h1{font-size:1.8rem;line-height:1.2}h2{margin-top:2.5rem;border-bottom:2px solid #ddd}
.lead{font-size:1.1rem;max-width:48rem}
p,li{max-width:48rem}
.caveat{border-left:5px solid #D55E00;background:#fff5ee;padding:.6rem 1rem;max-width:48rem}
aside.caveat h2{margin-top:.2rem;border:0;font-size:1.2rem}
.note{color:#444;font-size:.95rem}
.scroll{overflow-x:auto;max-width:100%;margin:1rem 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.3rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right;vertical-align:top}
th[scope=row],thead th:first-child{text-align:left}thead th{background:#f4f4f4}
figure{margin:1.5rem 0}figure img{display:block;width:100%;height:auto;border:1px solid #eee}
.wide figure{max-width:60rem}td{white-space:nowrap}
figcaption{font-size:.95rem;color:#333;margin-top:.4rem;max-width:48rem}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr));
gap:0 2rem;align-items:start}
.downloads{background:#f4f8fb;border:1px solid #cfe0ee;padding:.2rem 1rem;margin:1rem 0}
.downloads ul{padding-left:1.2rem}
code{font-size:.9em;overflow-wrap:anywhere}
@media (max-width:40rem){body{padding:.75rem}h1{font-size:1.4rem}
td,th{padding:.25rem .4rem;font-size:.9rem}}
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><header><h1>{title}</h1>{intro}</header>
<main>{caveats}
{body}
{methods}</main></body></html>
"""
