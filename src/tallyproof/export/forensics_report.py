"""The forensic report: PNG and SVG figures per contest and one HTML page that links them
with the numbers and the findings."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no screen on a server

import matplotlib.pyplot as plt
import numpy as np

from tallyproof.domain.findings import Finding
from tallyproof.forensics.fingerprint import fingerprint
from tallyproof.forensics.report import Analysis
from tallyproof.service.forensics import MODEL_MIN_STATIONS


def _save(fig: plt.Figure, directory: Path, stem: str) -> str:
    for suffix in ("png", "svg"):
        fig.savefig(directory / f"{stem}.{suffix}", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return f"{stem}.png"


def plot_fingerprint(an: Analysis, title: str, directory: Path, stem: str) -> str:
    a = an.arrays
    hist = fingerprint(a.turnout, a.share(), bins=100)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    image = ax.imshow(
        np.log10(hist.T + 1e-6),
        origin="lower",
        extent=(0, 100, 0, 100),
        cmap="magma",
        aspect="auto",
        vmin=-5,
    )
    ax.set_xlabel("turnout, %")
    ax.set_ylabel(f"share of {a.leader_name}, %")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="log10 share of stations")
    return _save(fig, directory, stem)


def plot_histogram(values: np.ndarray, label: str, title: str, directory: Path, stem: str) -> str:
    """0.1 %-wide bins; the bins centred on whole percentages are drawn in red."""
    pct = 100 * values[np.isfinite(values)]
    counts, edges = np.histogram(pct, bins=1001, range=(-0.05, 100.05))
    centres = (edges[:-1] + edges[1:]) / 2
    integer = np.isclose(centres, np.rint(centres), atol=1e-6)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.bar(centres[~integer], counts[~integer], width=0.1, color="#555555")
    ax.bar(centres[integer], counts[integer], width=0.1, color="#d62728", label="integer %")
    ax.set_xlabel(label)
    ax.set_ylabel("stations per 0.1 %")
    ax.set_title(title)
    ax.legend()
    return _save(fig, directory, stem)


def plot_last_digits(an: Analysis, title: str, directory: Path, stem: str) -> str:
    test = an.digits["all candidates"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(
        range(10), test.counts, color=["#d62728" if d in (0, 5) else "#555555" for d in range(10)]
    )
    ax.axhline(test.n / 10, color="black", linestyle="--", label="uniform")
    ax.set_xticks(range(10))
    ax.set_xlabel("last digit of a vote count (counts of 10 or more)")
    ax.set_title(title)
    ax.legend()
    return _save(fig, directory, stem)


def write_report(
    directory: Path, title: str, contests: list[tuple[str, Analysis, list[Finding]]]
) -> Path:
    """Figures and index.html in `directory`; returns the page."""
    directory.mkdir(parents=True, exist_ok=True)
    sections = []
    for code, an, found in contests:
        stem = code.replace("/", "_")
        figures = [
            plot_fingerprint(an, f"{code}: turnout x share", directory, f"{stem}-fingerprint"),
            plot_histogram(
                an.arrays.turnout, "turnout, %", f"{code}: turnout", directory, f"{stem}-turnout"
            ),
            plot_histogram(
                an.arrays.share(),
                "leader's share, %",
                f"{code}: leader's share",
                directory,
                f"{stem}-share",
            ),
            plot_last_digits(an, f"{code}: last digits", directory, f"{stem}-digits"),
        ]
        sections.append(_section(code, an, found, figures))
    page = directory / "index.html"
    page.write_text(_PAGE.format(title=html.escape(title), body="\n".join(sections)), "utf-8")
    return page


def _section(code: str, an: Analysis, found: list[Finding], figures: list[str]) -> str:
    rows = "".join(
        f"<tr><td>{name}</td><td>{t.stations:,}</td><td>{t.observed:,}</td><td>{t.expected:,.1f}</td>"
        f"<td>{t.spread:,.1f}</td><td>{t.excess:,.1f}</td><td>{t.z:.1f}</td></tr>"
        for name, t in an.integer.items()
    )
    fit = an.fit
    findings = (
        "".join(
            f"<li><b>{html.escape(str(f.severity))}</b> <code>{html.escape(f.code)}</code> "
            f"{html.escape(f.message)}</li>"
            for f in found
        )
        or "<li>none</li>"
    )
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in an.seconds.items())
    images = "".join(f'<a href="{f}"><img src="{f}" alt="{f}"></a>' for f in figures)
    return f"""<section><h2>{html.escape(code)}: {an.arrays.size:,} stations</h2>
<h3>Integer percentages (Kobak et al. 2016)</h3>
<table><tr><th>percentage</th><th>stations</th><th>observed</th><th>expected</th><th>spread</th>
<th>excess</th><th>z</th></tr>{rows}</table>
<p>Window ±{an.integer["either"].window} percentage points; stations with at least
{an.integer["either"].min_denominator} voters and ballots; {an.integer["either"].replicates:,}
binomial replicates.</p>
<h3>Fraud model (Klimek et al. 2012)</h3>
<p>{_model_caveat(an)}f<sub>i</sub> = {fit.f_incremental:.3f}, f<sub>e</sub> = {fit.f_extreme:.4f};
fair turnout {fit.turnout_mean:.2f} ± {fit.turnout_sd:.2f}, share {fit.share_mean:.2f} ±
{fit.share_sd:.2f}; residual {fit.residual:.2e} against {fit.residual_fair:.2e} for a fair
election.</p>
<h3>Findings</h3><ul>{findings}</ul>
<div class="figures">{images}</div>
<p class="small">Seconds: {timings}</p></section>"""


def _model_caveat(an: Analysis) -> str:
    if an.arrays.size >= MODEL_MIN_STATIONS:
        return ""
    return (
        f"<b>Only {an.arrays.size:,} stations: too few for the model "
        f"(it needs {MODEL_MIN_STATIONS:,}); no finding is raised from it.</b> "
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}}img{{max-width:48%;margin:.5%}}
.small{{color:#666;font-size:.85em}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""
