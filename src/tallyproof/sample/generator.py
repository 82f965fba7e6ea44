"""Builds the sample elections: structure, keys, status orders, signed station forms that
sum exactly to the reported totals, party agents' copies, a re-poll, and a declaration that
disagrees with its stations. Deterministic: the same stories give the same ledger."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from tallyproof.domain.structure import parse_structure
from tallyproof.importers.plan import Plan
from tallyproof.ledger.canonical import content_id
from tallyproof.ledger.keys import Signer
from tallyproof.service.claims import claims_in, report_documents

SEED = 2024


def load_stories() -> dict[str, Any]:
    text = resources.files("tallyproof.sample").joinpath("stories.json").read_text("utf-8")
    return json.loads(text)


def split_total(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights` into whole numbers that sum exactly to it
    (largest remainders get the leftover units)."""
    scale = sum(weights)
    shares = [total * w / scale for w in weights]
    parts = [math.floor(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: parts[i] - shares[i])
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def build_sample(stories: dict[str, Any] | None = None) -> Plan:
    stories = stories or load_stories()
    sample = Plan()
    rng = random.Random(SEED)
    for story in stories["elections"]:
        _ElectionBuilder(story, rng, sample).build()
    return sample


def _key(sample: Plan, name: str) -> Signer:
    return sample.key(name, f"tallyproof-sample:{name}")


def _at(moment: str, minutes: int) -> str:
    return (datetime.fromisoformat(moment) + timedelta(minutes=minutes)).isoformat()


class _ElectionBuilder:
    def __init__(self, story: dict[str, Any], rng: random.Random, sample: Plan) -> None:
        self.story, self.rng, self.sample = story, rng, sample
        self.eid: str = story["election"]["id"]
        self.admin = _key(sample, f"{self.eid}/admin")
        self.counts: dict[str, dict[str, dict[str, int]]] = {}  # contest -> station -> counts
        self.stations: list[dict[str, Any]] = []
        self.polling_day_forms: dict[str, str] = {}  # station -> id of its first official form

    def build(self) -> None:
        for contest in self.story["contests"]:
            if "candidates" in contest:
                self._generate_counts(contest)
        self.structure_doc = self._structure()
        self._add(
            "structure",
            f"{self.eid}: election structure",
            [self.structure_doc],
            self.admin,
        )
        self.sample.elections.append(self.eid)
        self._register_keys()
        self._postponements()
        self._polling_day()
        self._agent_copies()
        self._re_polls()
        self._declarations()
        self._news()
        self._events()

    def _news(self) -> None:
        """News reports as a media source: each outlet's key registered by the admin, each
        report's claims extracted, linked to this election and signed by its outlet."""
        structure = parse_structure(self.structure_doc)
        for name in self.story.get("news", []):
            text = (
                resources.files("tallyproof.sample").joinpath(f"reports/{name}").read_text("utf-8")
            )
            read = claims_in(text, [structure])
            key_name = f"{self.eid}/media/{read.outlet.lower().replace(' ', '-')}"
            if key_name not in self.sample.keys:
                reg = self._registration(key_name, f"media:{read.outlet}")
                self._add("register_key", f"{self.eid}: key {key_name}", [reg], self.admin)
            bodies = report_documents(read, self.eid)
            self._add("claims", f"{self.eid}: {read.outlet}", bodies, _key(self.sample, key_name))

    def _events(self) -> None:
        """The stories' events in order (docs/sample.md): each recorded by the admin key, but
        a complaint or petition, filed by its source's key (registered here, scoped to the
        contest) citing the first polling-day forms of the contest's stations, and moved
        through the tribunal by the updates that follow it."""
        for spec in self.story.get("events", []):
            fields = {k: v for k, v in spec.items() if k not in ("evidence_stations", "updates")}
            body = {"election": self.eid, **fields}
            signer = self.admin
            if spec["type"] in ("complaint", "petition"):
                stations = list(self.counts[spec["contest"]])[: spec["evidence_stations"]]
                body["evidence"] = [self.polling_day_forms[sid] for sid in stations]
                signer = self._filer(spec["source"], spec["contest"])
            self._add("events", f"{self.eid}: {spec['contest']} {spec['type']}", [body], signer)
            for update in spec.get("updates", []):
                move = {
                    "election": self.eid,
                    "type": "complaint_update",
                    "contest": spec["contest"],
                    "complaint": content_id(body),
                    **update,
                }
                title = f"{self.eid}: {spec['contest']} {spec['type']} {update['status']}"
                self._add("events", title, [move], self.admin)

    def _filer(self, source: str, contest: str) -> Signer:
        name = f"{self.eid}/{source}/{contest}"
        if name not in self.sample.keys:
            reg = self._registration(name, source, contests=[contest])
            self._add("register_key", f"{self.eid}: key {name}", [reg], self.admin)
        return _key(self.sample, name)

    def _add(
        self,
        action: str,
        title: str,
        bodies: list[dict[str, Any]],
        signer: Signer | None = None,
        signers: list[Signer] | None = None,
    ) -> None:
        keys = signers if signers is not None else [signer] * len(bodies)
        self.sample.add(action, title, bodies, keys)  # type: ignore[arg-type]

    def _generate_counts(self, contest: dict[str, Any]) -> None:
        code, n = contest["code"], contest["stations"]
        sizes = [self.rng.uniform(0.5, 1.5) for _ in range(n)]
        per_candidate = {
            k["id"]: split_total(k["votes"], [s * self.rng.uniform(0.6, 1.4) for s in sizes])
            for k in contest["candidates"]
        }
        low, high = contest["turnout"]
        stations: dict[str, dict[str, int]] = {}
        for i in range(n):
            votes = {cid: per_candidate[cid][i] for cid in per_candidate}
            valid = sum(votes.values())
            rejected = round(valid * self.rng.uniform(0.01, 0.03))
            polled = valid + rejected
            registered = math.ceil(polled / self.rng.uniform(low, high))
            sid = f"{code}-S{i + 1:03d}"
            stations[sid] = {**votes, ":rejected": rejected, ":polled": polled}
            station = {
                "id": sid,
                "name": f"{contest['name']}, polling station {i + 1}",
                "contests": [code],
                "registered_voters": registered,
            }
            if "district" in contest:  # what per-region reading groups by
                station["region"] = contest["district"]
            self.stations.append(station)
        self.counts[code] = stations

    def _structure(self) -> dict[str, Any]:
        contests = [
            {
                "code": c["code"],
                "assembly": c["assembly"],
                "name": c["name"],
                "candidates": [
                    {k: v for k, v in cand.items() if k != "votes"}
                    for cand in c.get("candidates", [])
                ],
            }
            for c in self.story["contests"]
        ]
        return {
            "election": self.story["election"],
            "parties": self.story["parties"],
            "assemblies": self.story["assemblies"],
            "contests": contests,
            "stations": self.stations,
            "admin_key": self.admin.public.b64,
        }

    def _registration(self, name: str, source: str, **scope: list[str]) -> dict[str, Any]:
        key = _key(self.sample, name)
        return {
            "election": self.eid,
            "key": {"name": name, "public_key": key.public.b64},
            "source": source,
            "time": self.story["election"]["date"] + "T06:00:00+05:00",
            **scope,
        }

    def _register_keys(self) -> None:
        regs = [
            self._registration(f"{self.eid}/po/{sid}", "presiding_officer", stations=[sid])
            for stations in self.counts.values()
            for sid in stations
        ]
        for c in self.story["contests"]:
            if "declared" in c:
                regs.append(
                    self._registration(
                        f"{self.eid}/ro/{c['code']}", "returning_officer", contests=[c["code"]]
                    )
                )
            if "agent_copies" in c:
                copies = c["agent_copies"]
                stations = list(self.counts[c["code"]])[: copies["stations"]]
                regs.append(
                    self._registration(
                        f"{self.eid}/{copies['source']}/{c['code']}",
                        copies["source"],
                        stations=stations,
                    )
                )
        for reg in regs:
            self._add(
                "register_key",
                f"{self.eid}: key {reg['key']['name']}",
                [reg],
                self.admin,
            )

    def _order(
        self, scope: str, target: str, status: str, reason: str, when: str, **extra: str
    ) -> None:
        body = {
            "election": self.eid,
            "scope": scope,
            "target": target,
            "status": status,
            "reason": reason,
            "time": when,
            **extra,
        }
        self._add("status", f"{self.eid}: {target} {status}", [body], self.admin)

    def _postponements(self) -> None:
        when = self.story["election"]["date"] + "T06:00:00+05:00"
        for c in self.story["contests"]:
            if "postponed" in c:
                self._order("contest", c["code"], "postponed", c["postponed"], when)

    def _form(
        self, code: str, sid: str, counts: dict[str, int], when: str, source: str, **extra: str
    ) -> dict[str, Any]:
        votes = {k: v for k, v in counts.items() if not k.startswith(":")}
        return {
            "election": self.eid,
            "station": sid,
            "contest": code,
            "source": source,
            "votes": votes,
            "rejected": counts[":rejected"],
            "polled": counts[":polled"],
            "valid": sum(votes.values()),
            "time": when,
            **extra,
        }

    def _re_poll_stations(self, contest: dict[str, Any]) -> tuple[list[str], list[str]]:
        plan = contest.get("re_poll")
        if not plan:
            return [], []
        stations = list(self.counts[contest["code"]])
        suspended = stations[-plan["suspended"] :]
        recounted = stations[-plan["suspended"] - plan["recounted"] : -plan["suspended"]]
        return suspended, recounted

    def _polling_day(self) -> None:
        close = self.story["polling_close"]
        bodies, signers = [], []
        for c in self.story["contests"]:
            if "candidates" not in c:
                continue
            suspended, recounted = self._re_poll_stations(c)
            for sid in suspended:
                self._order("station", sid, "suspended", c["re_poll"]["reason"], close)
            for i, (sid, counts) in enumerate(self.counts[c["code"]].items()):
                if sid in suspended:
                    continue
                if sid in recounted:
                    counts = self._disputed_count(counts)
                body = self._form(c["code"], sid, counts, _at(close, 30 + i), "presiding_officer")
                self.polling_day_forms[sid] = content_id(body)
                bodies.append(body)
                signers.append(_key(self.sample, f"{self.eid}/po/{sid}"))
        self._add("forms", f"{self.eid}: polling-station forms", bodies, signers=signers)

    def _disputed_count(self, counts: dict[str, int]) -> dict[str, int]:
        """The first count at a station later re-polled: the leader's votes inflated."""
        out = dict(counts)
        leader = max((k for k in counts if not k.startswith(":")), key=lambda k: counts[k])
        out[leader] += 150
        out[":polled"] += 150
        return out

    def _agent_copies(self) -> None:
        close = self.story["polling_close"]
        for c in self.story["contests"]:
            copies = c.get("agent_copies")
            if not copies:
                continue
            signer = _key(self.sample, f"{self.eid}/{copies['source']}/{c['code']}")
            bodies = []
            for i, (sid, counts) in enumerate(
                list(self.counts[c["code"]].items())[: copies["stations"]]
            ):
                copy = dict(counts)
                if i == copies["altered_station"]:
                    copy[copies["candidate"]] += copies["delta"]
                    copy[":polled"] += copies["delta"]
                bodies.append(
                    self._form(c["code"], sid, copy, _at(close, 45 + i), copies["source"])
                )
            self._add(
                "forms",
                f"{self.eid}: {copies['source']} copies of Form 45 in {c['code']}",
                bodies,
                signer,
            )

    def _re_polls(self) -> None:
        """Each contest's re-poll, district by district: the orders (naming the re-poll's
        day), then the re-poll forms, the recounted stations' superseding their first."""
        when = self.story.get("re_poll_close", "")
        for c in self.story["contests"]:
            suspended, recounted = self._re_poll_stations(c)
            if not suspended and not recounted:
                continue
            reason, day = c["re_poll"]["reason"], when[:10]
            for sid in suspended + recounted:
                ordered = _at(when, -7 * 24 * 60)
                self._order("station", sid, "re_poll_ordered", reason, ordered, re_poll_date=day)
            bodies, signers = [], []
            for sid in suspended + recounted:
                extra: dict[str, str] = {}
                if sid in recounted:
                    extra = {"supersedes": self.polling_day_forms[sid], "reason": "re_poll"}
                bodies.append(
                    self._form(
                        c["code"],
                        sid,
                        self.counts[c["code"]][sid],
                        _at(when, 40),
                        "presiding_officer",
                        **extra,
                    )
                )
                signers.append(_key(self.sample, f"{self.eid}/po/{sid}"))
            self._add(
                "forms",
                f"{self.eid}: re-poll forms in {c['code']}",
                bodies,
                signers=signers,
            )

    def _declarations(self) -> None:
        close = self.story["polling_close"]
        for c in self.story["contests"]:
            declared = c.get("declared")
            if not declared:
                continue
            stations = self._declared_breakdown(c, declared)
            body = {
                "election": self.eid,
                "contest": c["code"],
                "source": declared["source"],
                "votes": declared["votes"],
                "stations": stations,
                "time": _at(close, 24 * 60),
            }
            signer = _key(self.sample, f"{self.eid}/ro/{c['code']}")
            self._add(
                "declarations",
                f"{self.eid}: {c['code']} declared by the returning officer",
                [body],
                signer,
            )

    def _declared_breakdown(
        self, contest: dict[str, Any], declared: dict[str, Any]
    ) -> dict[str, dict[str, int]]:
        """Station figures as the consolidation shows them: the cut from each candidate's
        station total to the declared total is taken from the largest stations."""
        counts = self.counts[contest["code"]]
        out = {
            sid: {k: v for k, v in c.items() if not k.startswith(":")} for sid, c in counts.items()
        }
        for cid, total in declared["votes"].items():
            cut = sum(c[cid] for c in out.values()) - total
            if not cut:
                continue
            biggest = sorted(out, key=lambda s: -out[s][cid])[: declared["altered_stations"]]
            pool = [out[s][cid] for s in biggest]
            if sum(pool) < cut:
                raise ValueError(
                    f"{contest['code']}: {cut} votes cannot come off {len(pool)} stations"
                )
            for sid, part in zip(biggest, split_total(cut, [float(v) for v in pool]), strict=True):
                out[sid][cid] -= part
        return out
