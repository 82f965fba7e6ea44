"""Exports over HTTP: the same bytes the CLI writes at the same tree size, streamed, named by
their size, immutable once the log has grown past it, and revalidated by ETag."""

from __future__ import annotations

import csv
import io
import json

from tallyproof.ledger.entries import EntryKind, sign
from tests.helpers import ELECTION, cli, form_doc

E = f"/v1/elections/{ELECTION}/exports"


def test_exports_are_the_clis_bytes_at_the_same_size(served_sqlite):
    e, http = served_sqlite.election, served_sqlite.http
    envs = [sign(EntryKind.FORM, form_doc(station=s), e.po[s]).envelope() for s in ("S1", "S2")]
    first = http.post("/v1/forms", json={"forms": envs}).json()
    size = first["outcomes"][0]["receipt"]["tree_size"]
    http.post("/v1/forms", json=sign(EntryKind.FORM, form_doc(station="S3"), e.po["S3"]).envelope())
    home = served_sqlite.server.home
    for route, command in (
        ("stations.csv", "stations-csv"),
        ("results.csv", "results-csv"),
        ("cdf.json", "cdf"),
    ):
        answer = http.get(f"{E}/{route}", params={"as_of": size})
        assert answer.status_code == 200, answer.text
        assert answer.headers["tallyproof-tree-size"] == str(size)
        assert answer.headers["cache-control"].endswith("immutable")
        assert f"-{size}." in answer.headers["content-disposition"]
        written = cli(home, "export", command, "--election", ELECTION, "--as-of", str(size))
        assert answer.text.rstrip("\n") == written.stdout.rstrip("\n")  # the CLI ends a line
        again = http.get(
            f"{E}/{route}",
            params={"as_of": size},
            headers={"If-None-Match": answer.headers["etag"]},
        )
        assert again.status_code == 304
    rows = list(csv.DictReader(io.StringIO(http.get(f"{E}/stations.csv").text)))
    assert {r["station"] for r in rows} == {"S1", "S2", "S3"}
    report = http.get(f"{E}/cdf.json").json()
    assert report["@type"] == "ElectionResults.ElectionReport"
    assert (
        http.get(f"{E}/stations.csv", params={"contest": "NA-9"}).json()["code"]
        == "form.unknown_contest"
    )
    assert json.loads(http.get("/v1/elections/nope/exports/cdf.json").text)["status"] == 404
