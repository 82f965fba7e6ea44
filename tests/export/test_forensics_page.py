"""The forensic report as a newsroom reads it: the 100 % bar drawn and labelled without setting
the axis, every figure captioned with alt text, the caveats on the page, p-values a reader can
take in, and every flagged station in a CSV under its real name."""

from __future__ import annotations

import csv
import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tallyproof.export.forensics_report import draw_histogram, write_report
from tallyproof.forensics.arrays import StationArrays
from tallyproof.forensics.report import Analysis, analyse
from tallyproof.forensics.simulate import honest_election, stuff_ballots
from tallyproof.service.forensics import forensic_findings


def test_the_100_percent_bar_is_drawn_and_labelled_but_does_not_set_the_axis():
    rng = np.random.default_rng(1)
    values = np.r_[np.clip(rng.normal(0.6, 0.08, 20_000), 0, 0.98), np.ones(2_613)]
    drawn = draw_histogram(values, "turnout, %", "turnout")
    try:
        top = max(p.get_height() for p in drawn.axes.patches if p.get_x() < 99.5)
        assert drawn.limit == pytest.approx(1.15 * top)
        centre = {p: p.get_x() + p.get_width() / 2 for p in drawn.axes.patches}
        hundred = [p for p, x in centre.items() if abs(x - 100) < 1e-6]
        assert [p.get_height() for p in hundred] == [2_613]  # drawn, at its true height ...
        assert drawn.axes.get_ylim()[1] == pytest.approx(drawn.limit)
        assert drawn.limit < 2_613  # ... and cut off by the axis
        assert drawn.clipped == ((100.0, 2_613),)
        labels = [t.get_text() for t in drawn.axes.texts]
        assert "100 %: 2,613 stations ↑" in labels
        assert drawn.axes.get_xlim()[1] > 100  # the bar is inside the plotted range
        assert drawn.axes.get_ylabel() and drawn.axes.get_xlabel()
        legend = [t.get_text() for t in drawn.axes.get_legend().get_texts()]
        assert "bins on a whole percentage" in legend
    finally:
        plt.close(drawn.figure)


def test_without_a_tall_bar_nothing_is_cut_off():
    values = np.random.default_rng(2).uniform(0.3, 0.9, 5_000)
    drawn = draw_histogram(values, "turnout, %", "turnout")
    try:
        assert drawn.clipped == () and len(drawn.axes.texts) == 0
        assert max(p.get_height() for p in drawn.axes.patches) <= drawn.limit
    finally:
        plt.close(drawn.figure)


def named(a: StationArrays) -> StationArrays:
    """The simulated election with names as an importer gives them: region / tik / uik."""
    names = np.array(
        [f"Область {r} / ТИК {i // 50} / УИК {i}" for i, r in enumerate(a.region)], dtype=object
    )
    return dataclasses.replace(a, station_names=names)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Analysis]:
    rng = np.random.default_rng(3)
    stuffed, _ = stuff_ballots(honest_election(3000, 20, rng), 0.08, rng)
    an = analyse(named(stuffed), replicates=100)
    directory = tmp_path_factory.mktemp("report")
    write_report(directory, "Simulated: forensics", [("SIM-1", an, forensic_findings("SIM-1", an))])
    return directory, an


class _Figures(HTMLParser):
    """Every <img> with its alt text and whether it sits in a <figure> with a <figcaption>."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.figures: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "figure":
            self.figures.append({"images": [], "caption": ""})
        if tag == "img":
            image = dict(attrs) | {"in_figure": "yes" if "figure" in self.stack else None}
            self.images.append(image)
            if self.figures and "figure" in self.stack:
                self.figures[-1]["images"].append(image)  # type: ignore[union-attr]
        if tag not in ("img", "meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if "figcaption" in self.stack and self.figures:
            self.figures[-1]["caption"] = str(self.figures[-1]["caption"]) + data


def test_every_image_has_alt_text_and_sits_in_a_captioned_figure(report):
    directory, _ = report
    parser = _Figures()
    parser.feed((directory / "index.html").read_text("utf-8"))
    assert len(parser.images) == 4
    for image in parser.images:
        assert (image.get("alt") or "").strip(), image
        assert image["in_figure"], image
        assert (directory / str(image["src"])).stat().st_size > 1000
        assert (directory / str(image["src"]).replace(".png", ".svg")).exists()
    for figure in parser.figures:
        caption = str(figure["caption"])
        assert "What it does not prove" in caption, caption
    alts = " ".join(str(i["alt"]) for i in parser.images)
    assert re.search(r"\d,\d{3} stations", alts)  # the key numbers, not just a file name


def test_the_page_carries_the_caveats_and_no_developer_timings(report):
    directory, _ = report
    page = (directory / "index.html").read_text("utf-8")
    text = " ".join(re.sub(r"<[^>]+>", "", page).split())
    for caveat in (
        "These tests never prove fraud",
        "unlikely under honest counting",
        "point at regions, not stations",
        "is a lower bound",
        "not proof of fraud",
        "a place to look, not an accusation",
        "100 times",  # the replicates, and what the null is
        "binomial",
    ):
        assert caveat in text, caveat
    assert "Seconds" not in page and " s</p>" not in page
    assert 'lang="en"' in page and 'name="viewport"' in page
    assert 'class="scroll"' in page  # tables scroll in their own container on a phone


def test_no_p_value_is_printed_as_zero_in_scientific_notation(report):
    directory, an = report
    page = (directory / "index.html").read_text("utf-8")
    messages = " ".join(f.message for f in forensic_findings("SIM-1", an))
    for text in (page, messages):
        assert not re.search(r"\de[+-]\d\d", text)
    assert an.integer["either"].p_value == 0  # the stuffed election beats every replicate
    assert "p &lt; 0.01 (none of 100 replicates)" in page
    assert "p < 0.01 (none of 100 replicates)" in messages


def test_the_flagged_csv_lists_every_flagged_station_under_its_real_name(report):
    directory, an = report
    path = directory / "SIM-1-flagged-stations.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the Cyrillic as such
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = an.stations_to_check()
    assert len(rows) == int(expected.sum()) > 100  # every one: no cap at 100
    a = an.arrays
    assert [r["station_id"] for r in rows] == a.station[expected].tolist()
    assert [r["station"] for r in rows] == a.station_names[expected].tolist()
    assert rows[0]["station"].startswith("Область ")
    for column in (
        "region",
        "registered",
        "ballots_issued",
        "ballots_in_boxes",
        "leader_votes",
        "turnout_pct",
        "leader_share_pct",
        "turnout_99",
        "share_95",
        "share_95_candidate",
        "stuffing_signature",
        "integer_turnout",
        "integer_share",
        "ballots.exceeds_registered",
        "reasons",
    ):
        assert column in rows[0], column
    assert sum(r["turnout_99"] == "1" for r in rows) == int(an.extreme_turnout.sum())
    assert all(r["reasons"] for r in rows)
    page = (directory / "index.html").read_text("utf-8")
    assert 'href="SIM-1-flagged-stations.csv"' in page
    assert f"{len(rows):,} rows" in page


def test_stations_on_integers_go_to_their_own_csv_with_their_chance(report):
    directory, an = report
    with (directory / "SIM-1-integer-stations.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == an.integer["either"].observed
    assert all(r["integer_turnout"] == "1" or r["integer_share"] == "1" for r in rows)
    assert all(0 < float(r["chance_turnout_on_integer"]) < 1 for r in rows)
