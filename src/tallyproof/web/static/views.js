// The pages: national, assembly, contest, station, findings. Each asks the API for what it
// shows, at the page's `as_of`, and returns the page's content. Every number that comes from
// the log is a button that opens its proof (proofs.js).
import { api, current, link, onFeed } from "./app.js";
import { hemicycle, reportingCurve } from "./charts.js";
import { colour, fmt, h, pct, person, progress, swatch, table, when } from "./dom.js";
import { eventsList, historyList } from "./history.js";
import { rePollSection } from "./repolls.js";

const enc = encodeURIComponent;
const E = () => `/elections/${enc(current().election)}`;

// A number from an answer of tree size `size`; `proof` says what stands behind it.
function num(value, size, proof = {}) {
  if (value === null || value === undefined) return "—";
  return h("button", { type: "button", class: "num", "data-size": size, "data-value": value, ...prefix(proof),
    "aria-label": `${fmt(value)}: show where this number comes from` }, fmt(value));
}

function prefix(proof) {
  return Object.fromEntries(Object.entries(proof).map(([k, v]) => [`data-${k}`, v]));
}

const sourceName = (s) => s === "presiding_officer" ? "Presiding officer (Form 45)"
  : s === "returning_officer" ? "Returning officer" : s.replace(/^agent:/, "Agent of ").replace(/^observer:/, "Observer ").replace(/^media:/, "Media: ");

function statusBadge(c) {
  const declared = c.declared && (typeof c.declared === "object" || c.declared === true);
  if (c.winner_differs) return h("span", { class: "badge bad", "data-testid": "winner-differs" }, "Form 47 winner differs from the forms");
  if (c.status === "postponed" || c.status === "suspended" || c.status === "vacated") return h("span", { class: "badge warn" }, c.status);
  if (declared) return h("span", { class: "badge ok" }, "declared");
  return h("span", { class: "badge" }, c.status);
}

// ---- national ------------------------------------------------------------------------
const FINE_BELOW = 5; // minutes of reporting under which the curve is asked by the second
async function national() {
  const [election, standings, byMinute] = await Promise.all([
    api(E()), api(`${E()}/standings`), api(`${E()}/reporting`),
  ]);
  // a night that came in within a few minutes (a demo, a by-election) is drawn by the second
  const reporting = byMinute.minutes.length < FINE_BELOW
    ? await api(`${E()}/reporting`, { per: "second" }) : byMinute;
  const curve = reporting.minutes ?? reporting.seconds;
  const size = standings.tree_size;
  const e = election.election;
  const reported = curve.reduce((a, m) => a + m.stations, 0);
  const na = standings.standings.filter((r) => r.assembly === "NA");
  const naSeats = e.assemblies.find((a) => a.code === "NA")?.contests ?? 0;
  const changes = h("ol", { class: "changes", "data-testid": "changes", "aria-live": "off" });
  const findings = h("ol", { class: "changes", "data-testid": "latest-findings" });
  const total = h("span", {}, "…");
  // the page is drawn without waiting for the findings, which the whole election's log
  // answers: they fill in when they come
  severeFindings().then((top) => {
    findings.replaceChildren(...top.findings.map(findingItem));
    total.replaceChildren(num(top.total, top.tree_size, { kind: "national" }));
  }, (err) => findings.replaceChildren(h("li", {}, `Findings could not be read: ${err.message}`)));
  liveLists(changes);
  return h("div", {},
    h("h1", {}, e.name),
    h("div", { class: "tiles" },
      tile("Stations reported", h("span", {}, num(reported, size, { kind: "national" }), ` of ${fmt(reporting.stations)}`), "stations-reported"),
      tile("Registered voters", num(e.registered_voters, size, { kind: "national" })),
      tile("Contests", num(e.contests, size, { kind: "national" })),
      tile("Open high and critical findings", total, "findings-total")),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "na-h" },
        h("h2", { id: "na-h" }, "National Assembly"),
        h("figure", {}, hemicycle(na, naSeats, "National Assembly seats by side"),
          h("figcaption", {}, `${fmt(naSeats)} general seats, majority ${fmt(Math.floor(naSeats / 2) + 1)}; filled: won (declared), ring: leading on the forms counted so far, grey: no result yet (postponed contests among them). Independents in the lighter colour of the party that backed them.`)),
        sideTable("NA", na, size)),
      h("section", { class: "card", "aria-labelledby": "rep-h" },
        h("h2", { id: "rep-h" }, "Reporting"),
        reportingCurve(curve, reporting.stations, reporting.per))),
    h("section", { "aria-labelledby": "st-h" }, h("h2", { id: "st-h" }, "Standings in every assembly"),
      h("div", { class: "grid" }, election.election.assemblies.filter((a) => a.code !== "NA").map((a) =>
        h("div", { class: "card" }, h("h3", {}, h("a", { href: link("assembly", a.code) }, a.name)),
          sideTable(a.code, standings.standings.filter((r) => r.assembly === a.code), size))))),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "ch-h" }, h("h2", { id: "ch-h" }, "Latest changes"), changes),
      h("section", { class: "card", "aria-labelledby": "fi-h" }, h("h2", { id: "fi-h" }, "Latest findings"), findings)));
}

// The whole election's findings cost the server the entries since it last answered them (and
// a first answer, a replay of the log): a live page asks again every half minute, and the
// feed adds the findings each entry opens in between.
const FINDINGS_MS = 30000;
let kept = { key: null, at: 0, answer: null };
async function severeFindings() {
  const key = `${current().election}@${current().asOf}`;
  const fresh = current().asOf !== null || kept.key !== key || Date.now() - kept.at > FINDINGS_MS;
  if (fresh) kept = { key, at: Date.now(), answer: await api(`${E()}/findings`, { severity: "high", limit: 25 }, { newest: true }) };
  return kept.answer;
}

function tile(label, value, testid) {
  return h("div", { class: "tile", "data-testid": testid || null }, h("div", { class: "big" }, value), h("div", { class: "label" }, label));
}

function sideTable(assembly, rows, size) {
  if (!rows.length) return h("p", {}, "No results yet.");
  return table(`${assembly} seats by side`, ["Side", "Won", "Leading", "Total"],
    rows.map((r) => h("tr", {},
      h("td", {}, swatch(r.side), r.side),
      h("td", { class: "n" }, num(r.won, size, { kind: "national" })),
      h("td", { class: "n" }, num(r.leading, size, { kind: "national" })),
      h("td", { class: "n" }, fmt(r.won + r.leading)))), { numeric: [1, 2, 3] });
}

// The feed's events as one line each, newest first; kept only while the page shows them.
let subscribed = false;
function liveLists(changes) {
  for (const ev of current().recent) changes.append(changeItem(ev));
  if (!subscribed) {
    subscribed = true;
    onFeed(({ changes, findings }) => {
      const list = document.querySelector('[data-testid="changes"]');
      if (list) {
        for (const ev of changes) {
          const item = changeItem(ev);
          item.classList.add("fresh");
          list.prepend(item);
        }
        while (list.children.length > 40) list.lastChild.remove();
      }
      const fl = document.querySelector('[data-testid="latest-findings"]');
      if (fl) {
        for (const f of findings) fl.prepend(findingItem(f));
        while (fl.children.length > 50) fl.lastChild.remove();
      }
    });
  }
}

function changeItem(ev) {
  const where = ev.contest ? h("a", { href: link("contest", ev.contest) }, ev.contest) : null;
  const station = ev.station ? h("a", { href: link("station", ev.station) }, ev.station) : null;
  const text = ev.kind === "form" ? ["Form from ", station, " in ", where, ` (${sourceName(ev.source)})`]
    : ev.kind === "declaration" ? ["Declared result for ", where, ` by ${sourceName(ev.source || "")}`]
    : ev.kind === "status" ? [`Status order: ${ev.target || ""} ${ev.status || ""}`]
    : [ev.kind.replace("_", " ")];
  return h("li", {}, h("span", { class: "label" }, `#${fmt(ev.leaf_index)} `), text);
}

function findingItem(f) {
  return h("li", {}, h("span", { class: `sev-${f.severity}` }, f.severity), " ",
    f.contest ? h("a", { href: link("contest", f.contest) }, f.contest) : null, " ", f.message);
}

// ---- assembly ------------------------------------------------------------------------
async function assembly(route) {
  const code = route.id;
  const [list, standings, election] = await Promise.all([
    api(`${E()}/contests`, { assembly: code }), api(`${E()}/standings`, { assembly: code }), api(E()),
  ]);
  const size = list.tree_size;
  const name = election.election.assemblies.find((a) => a.code === code)?.name || code;
  const filter = h("input", { type: "search", id: "contest-filter", placeholder: "NA-122, Lahore…" });
  const onlyFlags = h("input", { type: "checkbox", id: "only-flags" });
  const rows = list.contests.map((c) => {
    const tr = h("tr", { class: c.winner_differs ? "flag" : null, "data-contest": c.contest },
      h("td", {}, h("a", { href: link("contest", c.contest) }, c.contest)),
      h("td", {}, c.name),
      h("td", {}, statusBadge(c)),
      h("td", { class: "n" }, progress(c.stations_reported, c.stations_total, `${c.contest} stations reported`), " ",
        num(c.stations_reported, size, { kind: "contest", contest: c.contest, field: "stations" }), `/${fmt(c.stations_total)}`),
      h("td", {}, c.leader_name ? [swatch(c.leader_side), c.leader_name, ` (${c.leader_side})`] : "—"),
      h("td", { class: "n" }, num(c.margin, size, { kind: "contest", contest: c.contest, field: "margin", basis: c.declared ? "declared" : "stations" })),
      h("td", {}, c.declared ? (c.winner_differs ? "✗ differs" : "✓ agrees") : "not declared"));
    tr.dataset.search = `${c.contest} ${c.name} ${c.leader_name || ""}`.toLowerCase();
    return tr;
  });
  const apply = () => {
    const q = filter.value.trim().toLowerCase();
    for (const tr of rows) tr.hidden = (q && !tr.dataset.search.includes(q)) || (onlyFlags.checked && !tr.classList.contains("flag"));
  };
  filter.addEventListener("input", apply);
  onlyFlags.addEventListener("change", apply);
  return h("div", {},
    h("h1", {}, name),
    sideTable(code, standings.standings.filter((r) => r.assembly === code), size),
    h("h2", {}, "Contests"),
    h("div", { class: "filters" },
      h("label", { for: "contest-filter" }, "Find a contest", filter),
      h("label", { for: "only-flags", class: "inline" }, h("span", {}, "Only where Form 47 and the forms disagree"), onlyFlags)),
    table(`${name}: contests`, ["Contest", "Name", "Status", "Stations reported", "Leader", "Margin", "Declared v computed"], rows, { numeric: [3, 5] }));
}

// ---- contest -------------------------------------------------------------------------
async function contest(route) {
  const code = route.id;
  const base = `${E()}/contests/${enc(code)}`;
  const [page, history, findings, claims, events] = await Promise.all([
    api(base), api(`${base}/history`), api(`${E()}/findings`, { contest: code, state: "all" }),
    api(`${E()}/claims`, { contest: code }), api(`${E()}/events`, { contest: code }),
  ]);
  const c = page.contest;
  const size = page.tree_size;
  const names = Object.fromEntries(c.candidates.map((k) => [k.id, k]));
  const declaredBreakdown = c.declared ? await declarationStations(c.declared.leaf_index) : null;
  const ranking = c.computed.ranking;
  const [first, second] = c.ranking;
  const proof = { kind: "contest", contest: code, field: "stations" };
  const marginProof = { kind: "contest", contest: code, field: "margin", basis: c.basis };
  return h("div", {},
    h("h1", {}, `${code} — ${c.name}`),
    h("p", {}, statusBadge(c), " ", c.status_reason || "", " ",
      h("a", { href: link("assembly", c.assembly) }, c.assembly)),
    c.winner_differs ? h("p", { class: "banner bad", role: "alert", "data-testid": "disagreement" },
      `The returning officer's declaration (Form 47) names ${nameOf(names, c.declared)}; the polling-station forms (Form 45) give ${nameOf(names, c.computed)}.`) : null,
    h("div", { class: "tiles" },
      tile(c.status === "vacated" ? "Declared winner (seat vacated)" : c.basis === "declared" ? "Winner (declared)" : "Leading (forms counted)", first ? person(first.name, names[first.candidate]?.name_ur) : "—", "winner"),
      tile("Runner-up", second ? person(second.name, names[second.candidate]?.name_ur) : "—"),
      tile("Margin", num(c.margin, size, marginProof), "margin"),
      tile("Turnout (forms)", pct(c.computed.turnout)),
      tile("Stations reported", h("span", {}, num(c.computed.stations_reported, size, proof), ` of ${fmt(c.computed.stations_total)}`), "contest-reported")),
    h("h2", {}, "Declared beside computed"),
    resultTable(c, names, size, code),
    rePollSection(c, names),
    h("h2", {}, "Polling stations, source by source"),
    h("p", {}, "Each source's copy of each station's count, side by side; a cell that differs from the presiding officer's official form is marked. Columns show the two candidates ahead on the forms and ballots polled."),
    stationTable(c, c.forms, declaredBreakdown, ranking.slice(0, 2), size),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Findings"), findingsList(findings.findings)),
      h("section", { class: "card" }, h("h2", {}, "News claims about it"), claimsList(claims.claims, names))),
    h("section", { class: "card" }, h("h2", {}, "History"),
      h("h3", {}, "Events"), eventsList(events.events, names),
      h("h3", {}, "Every change"), historyList(history.history)),
    h("section", { class: "card" }, h("h2", {}, "Embed this contest"),
      h("p", {}, "Paste this into a web page: a live box with this contest's numbers, each with its proof on this site."),
      h("code", { class: "snippet", "data-testid": "embed-snippet" },
        `<iframe src="${location.origin}/embed/${enc(current().election)}/${enc(code)}" title="${code} live result" width="380" height="300" style="border:0"></iframe>`)));
}

function resultTable(c, names, size, code) {
  const ids = c.candidates.map((k) => k.id);
  const dv = c.declared?.votes || {};
  const cv = c.computed.votes;
  ids.sort((a, b) => (cv[b] || 0) - (cv[a] || 0));
  const rows = ids.map((id) => {
    const k = names[id];
    const diff = c.declared ? (dv[id] ?? 0) - (cv[id] ?? 0) : null;
    return h("tr", { class: diff ? "flag" : null, "data-candidate": id },
      h("td", {}, swatch(k.side), person(k.name, k.name_ur)),
      h("td", {}, k.side),
      h("td", { class: "n" }, c.declared ? num(dv[id] ?? 0, size, { kind: "declared", contest: code, field: id }) : "—"),
      h("td", { class: "n" }, num(cv[id] ?? 0, size, { kind: "contest", contest: code, field: id })),
      h("td", { class: diff ? "n differs" : "n" }, diff === null ? "—" : diff === 0 ? "0" : (diff > 0 ? "+" : "") + fmt(diff)));
  });
  return table(`${code}: declared and computed votes`, ["Candidate", "Side", "Declared (Form 47)", "Computed from the forms (Form 45)", "Declared − computed"], rows, { numeric: [2, 3, 4] });
}

async function declarationStations(leafIndex) {
  try {
    const entry = await api(`/ledger/entries/${leafIndex}`, {}, { live: true });
    const leaf = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(entry.leaf), (ch) => ch.charCodeAt(0))));
    return leaf.body.stations || null;
  } catch {
    return null;
  }
}

function stationTable(c, forms, declared, leaders, size) {
  const sources = [...new Set(forms.filter((f) => f.current && !f.official).map((f) => f.source))].sort();
  const cand = leaders.map((r) => r.candidate);
  const head = ["Station", "Registered", "Official (Form 45)", ...sources.map(sourceName)];
  if (declared) head.push("Form 47 breakdown");
  const byStation = new Map();
  for (const f of forms) {
    if (!f.current) continue;
    const row = byStation.get(f.station) || {};
    row[f.official ? "official" : f.source] = f;
    byStation.set(f.station, row);
  }
  const rows = c.stations.map((st) => {
    const mine = byStation.get(st.id) || {};
    const official = mine.official;
    const cells = [official, ...sources.map((s) => mine[s])].map((f, i) => formCell(f, official, cand, size, i === 0));
    if (declared) cells.push(declaredCell(declared[st.id], official, cand));
    const flagged = cells.some((td) => td.classList.contains("differs"));
    return h("tr", { class: flagged ? "flag" : null, "data-station": st.id },
      h("td", {}, h("a", { href: link("station", st.id) }, st.id)),
      h("td", { class: "n" }, fmt(st.registered_voters)), cells);
  });
  const legend = leaders.map((r) => r.name).join(" · ");
  return h("div", {}, h("p", { class: "label" }, `In each cell: ${legend} · polled`),
    table(`${c.contest}: stations by source`, head, rows));
}

function formCell(f, official, cand, size, isOfficial) {
  if (!f) return h("td", { class: "n" }, "—");
  const diff = !isOfficial && official ? f.differs_from_official || [] : [];
  const parts = cand.map((id) => num(f.votes[id] ?? 0, size, { kind: "form", leaf: f.leaf_index, field: id }));
  return h("td", { class: diff.length ? "n differs" : "n", title: diff.length ? `differs from the official form at ${diff.join(", ")}` : null },
    join(parts, " · "), " · ", num(f.polled, size, { kind: "form", leaf: f.leaf_index, field: "polled" }),
    diff.length ? h("span", { class: "visually-hidden" }, ` (differs from the official form: ${diff.join(", ")})`) : null);
}

function declaredCell(votes, official, cand) {
  if (!votes) return h("td", { class: "n" }, "—");
  const moved = official && cand.some((id) => (votes[id] ?? 0) !== (official.votes[id] ?? 0));
  const anyMoved = official && Object.keys(votes).some((id) => votes[id] !== (official.votes[id] ?? 0));
  return h("td", { class: anyMoved ? "n differs" : "n", title: anyMoved ? "the declaration's figure for this station differs from its official form" : null },
    cand.map((id) => fmt(votes[id] ?? 0)).join(" · "), moved || anyMoved ? h("span", { class: "visually-hidden" }, " (differs from the station's form)") : null);
}

function join(items, sep) {
  return items.flatMap((x, i) => (i ? [sep, x] : [x]));
}

function findingsList(findings) {
  if (!findings.length) return h("p", {}, "None.");
  return h("ul", { class: "changes", "data-testid": "contest-findings", tabindex: "0", "aria-label": "Findings of the contest" }, findings.map((f) =>
    h("li", {}, h("span", { class: `sev-${f.severity}` }, f.severity), ` ${f.code}: ${f.message} `,
      f.open ? null : h("span", { class: "badge ok" }, "resolved"))));
}

function claimsList(claims, names) {
  if (!claims.length) return h("p", {}, "No news report in the log speaks of this contest.");
  return h("ul", { class: "changes", tabindex: "0", "aria-label": "News claims about the contest" }, claims.map((c) =>
    h("li", { class: "claim" }, h("strong", {}, c.said_by), ` (${c.published}): `, h("q", {}, c.sentence),
      c.value !== undefined ? ` — ${c.kind} ${fmt(c.value)}${c.candidate_id && names[c.candidate_id] ? " for " + names[c.candidate_id].name : ""}` : "")));
}

// The candidate a result names: its winner, or its leader where none won (a vacated seat).
function nameOf(names, result) {
  const id = result.winner || result.leader;
  return names[id]?.name || id;
}

// ---- station -------------------------------------------------------------------------
async function station(route) {
  const answer = await api(`${E()}/stations/${enc(route.id)}`);
  const st = answer.station;
  const size = answer.tree_size;
  const byContest = new Map();
  for (const f of st.forms) (byContest.get(f.contest) || byContest.set(f.contest, []).get(f.contest)).push(f);
  return h("div", {},
    h("h1", {}, `${st.id} — ${st.name}`),
    h("p", {}, `Registered voters ${fmt(st.registered_voters)} · votes in `, join(st.contests.map((c) => h("a", { href: link("contest", c) }, c)), ", ")),
    st.forms.length ? null : h("p", {}, "No form from this station yet."),
    [...byContest].map(([code, forms]) => h("section", {}, h("h2", {}, `${code}: every form, superseded ones too`), formsTable(code, forms, size))));
}

function formsTable(code, forms, size) {
  const official = forms.find((f) => f.official && f.current);
  const candidates = [...new Set(forms.flatMap((f) => Object.keys(f.votes)))];
  const head = ["", ...forms.map((f) => `${sourceName(f.source)}${f.current ? "" : " (superseded)"} #${f.leaf_index}`)];
  const line = (label, get, field, differsAt) => h("tr", {}, h("th", { scope: "row" }, label), forms.map((f) => {
    const differs = official && f !== official && (f.differs_from_official || []).includes(differsAt);
    return h("td", { class: differs ? "n differs" : "n" }, num(get(f), size, { kind: "form", leaf: f.leaf_index, field }));
  }));
  return table(`${code}: forms of the station`, head, [
    ...candidates.map((id) => line(id, (f) => f.votes[id], id, id)),
    line("Rejected", (f) => f.rejected, "rejected", "rejected"),
    line("Polled", (f) => f.polled, "polled", "polled"),
    h("tr", {}, h("th", { scope: "row" }, "Received"), forms.map((f) => h("td", {}, when(f.received_at), f.reason ? ` (${f.reason})` : ""))),
  ]);
}

// ---- findings ------------------------------------------------------------------------
async function findings(route) {
  const p = route.params;
  const params = { contest: p.get("contest"), code: p.get("code"), severity: p.get("severity") || "low", state: p.get("state") || "open", limit: 500 };
  // a whole election's findings at the newest size (see `api`); one contest's at any
  const answer = await api(`${E()}/findings`, params, { newest: !params.contest });
  const form = h("form", { class: "filters", "aria-label": "Filter the findings", onsubmit: (ev) => {
    ev.preventDefault();
    const data = new FormData(ev.target);
    const q = Object.fromEntries([...data].filter(([, v]) => v));
    location.hash = link("findings", null, q);
  } },
    h("label", {}, "Contest", h("input", { name: "contest", value: params.contest || "", placeholder: "NA-122" })),
    h("label", {}, "Code", h("input", { name: "code", value: params.code || "", placeholder: "consolidation.mismatch" })),
    h("label", {}, "At least", select("severity", ["critical", "high", "medium", "low", "info"], params.severity)),
    h("label", {}, "State", select("state", ["open", "resolved", "all"], params.state)),
    h("button", { type: "submit" }, "Show"));
  const rows = answer.findings.map((f) => h("tr", { class: f.severity === "critical" ? "flag" : null },
    h("td", { class: `sev-${f.severity}` }, f.severity),
    h("td", {}, f.code),
    h("td", {}, f.contest ? h("a", { href: link("contest", f.contest) }, f.contest) : "—"),
    h("td", {}, f.station ? h("a", { href: link("station", f.station) }, f.station) : "—"),
    h("td", {}, f.message),
    h("td", {}, f.open ? `open since #${fmt(f.opened_by)}` : `resolved by #${fmt(f.resolved_by)}`)));
  return h("div", {}, h("h1", {}, "Findings"), form,
    h("p", { "data-testid": "findings-count" }, `${fmt(answer.total)} ${answer.total === 1 ? "finding" : "findings"}${answer.total > answer.findings.length ? `, the ${answer.findings.length} most severe shown` : ""}.`),
    table("Findings", ["Severity", "Code", "Contest", "Station", "What", "Life"], rows));
}

function select(name, options, value) {
  return h("select", { name }, options.map((o) => h("option", { value: o, selected: o === value }, o)));
}

export const views = { national, assembly, contest, station, findings };
export { colour };
