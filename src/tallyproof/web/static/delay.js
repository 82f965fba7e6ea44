// The results-delay page (#/<election>/delay): the reporting curves as shares of stations
// against hours after the close of poll, and the slowest contests. One question to the API
// (GET /v1/elections/{election}/delay), at the page's `as_of` like every page.
import { api, current, link } from "./app.js";
import { fmt, h, s, table } from "./dom.js";

const SLOWEST = 15;
const LINES = ["#0b5cad", "#c62828", "#2e7d32", "#6a1b9a", "#b45309", "#0e7490", "#4d5560"];

// A duration in seconds as hours and minutes; "not yet" with the time so far when unfinished.
export function span(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const minutes = Math.floor(Math.abs(seconds) / 60);
  return `${seconds < 0 ? "-" : ""}${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

function finish(took, elapsed) {
  return took === null ? h("span", { style: { color: "var(--muted)" } }, `not yet (${span(elapsed)} so far)`) : span(took);
}

// Every curve as the share of its stations reported, against hours after the close.
export function delayCurves(curves, elapsed) {
  const w = 640, ht = 240, left = 44, right = 12, top = 12, bottom = 36;
  const last = Math.max(elapsed ?? 0, ...curves.flatMap((c) => c.points.map((p) => p.after_close)), 3600);
  const hours = Math.ceil(last / 3600);
  const x = (sec) => left + ((w - left - right) * Math.max(sec, 0)) / (hours * 3600);
  const y = (share) => ht - bottom - (ht - top - bottom) * share;
  const svg = s("svg", { viewBox: `0 0 ${w} ${ht}`, role: "img", "aria-labelledby": "delay-title delay-desc", "data-testid": "delay-curves" },
    s("title", { id: "delay-title" }, "Share of stations reported, by hours after the close of poll"),
    s("desc", { id: "delay-desc" }, curves.map((c) => `${c.name}: ${fmt(c.points.at(-1)?.reported ?? 0)} of ${fmt(c.stations)}`).join("; ")));
  for (const share of [0, 0.5, 1]) {
    svg.append(s("line", { x1: left, y1: y(share), x2: w - right, y2: y(share), stroke: share ? "#c3c9d0" : "#8894a0", "stroke-dasharray": share ? "4 3" : null }));
    svg.append(s("text", { x: 4, y: y(share) + 4, "font-size": 11 }, `${share * 100} %`));
  }
  const step = Math.max(1, Math.ceil(hours / 12));
  for (let hr = 0; hr <= hours; hr += step) {
    svg.append(s("text", { x: x(hr * 3600), y: ht - bottom + 16, "font-size": 11, "text-anchor": "middle" }, `+${hr}h`));
  }
  svg.append(s("text", { x: w - right, y: ht - 4, "font-size": 11, "text-anchor": "end" }, "hours after the close of poll"));
  // a step at each minute stations reported in: the count holds until the next one; the
  // national line last and dashed, so that an assembly it coincides with still shows
  const drawn = curves.map((c, i) => [c, i]).filter(([c]) => c.stations && c.points.length);
  for (const [c, i] of [...drawn.slice(1), ...drawn.slice(0, 1)]) {
    let prev = y(0);
    const path = [`M${x(0).toFixed(1)},${prev.toFixed(1)}`];
    for (const p of c.points) {
      const at = x(p.after_close).toFixed(1);
      prev = y(p.reported / c.stations);
      path.push(`H${at}`, `V${prev.toFixed(1)}`);
    }
    if (elapsed !== null) path.push(`H${x(elapsed).toFixed(1)}`);
    svg.append(s("path", { d: path.join(" "), fill: "none", stroke: LINES[i % LINES.length], "stroke-width": i ? 2 : 3, "stroke-dasharray": i ? null : "7 4", "data-curve": c.name }));
  }
  const legend = h("ul", { class: "legend", style: { display: "flex", flexWrap: "wrap", gap: "4px 16px", listStyle: "none", padding: "0", margin: "4px 0" } }, curves.map((c, i) =>
    h("li", {}, h("span", { class: "swatch", style: { background: LINES[i % LINES.length] }, "aria-hidden": "true" }),
      `${c.name === "national" ? "All stations" : c.name}: ${fmt(c.points.at(-1)?.reported ?? 0)} of ${fmt(c.stations)}`)));
  return { svg, legend };
}

async function delayPage() {
  const answer = await api(`/elections/${encodeURIComponent(current().election)}/delay`, { slowest: SLOWEST });
  const d = answer.delay;
  const byCode = new Map(d.contests.map((c) => [c.contest, c]));
  const open = d.contests.filter((c) => !c.postponed);
  const complete = open.filter((c) => c.complete).length;
  const declared = open.filter((c) => c.declared_at !== null).length;
  const { svg, legend } = delayCurves([d.national, ...d.assemblies], d.elapsed);
  const rows = d.slowest.map((code) => byCode.get(code)).map((c) => h("tr", { "data-contest": c.contest },
    h("td", {}, h("a", { href: link("contest", c.contest) }, c.contest)),
    h("td", {}, c.assembly),
    h("td", { class: "n" }, `${fmt(c.reported)} / ${fmt(c.stations)}`),
    h("td", { class: "n" }, span(c.to_first_form)),
    h("td", { class: "n" }, finish(c.to_all_forms, d.elapsed)),
    h("td", { class: "n" }, finish(c.to_declared, d.elapsed))));
  return h("div", { "data-testid": "delay" },
    h("h1", {}, "Results delay"),
    h("p", {}, `Polls closed at ${d.close}; the log's last entry at this point was received ${span(d.elapsed)} after. `,
      `Contests with every station's form: ${fmt(complete)} of ${fmt(open.length)}; declared (Form 47): ${fmt(declared)}.`),
    h("section", { class: "card", "aria-labelledby": "delay-curve-h" },
      h("h2", { id: "delay-curve-h" }, "Reporting curve"),
      h("figure", {}, svg, legend,
        h("figcaption", {}, "The share of polling stations that have reported, against the hours since polls closed: a station reports (for a contest) when the log receives its first official Form 45, even if a correction or a re-poll later replaces it. The dashed line is every station in the election; each other line one assembly's contests."))),
    h("section", { "aria-labelledby": "slow-h" },
      h("h2", { id: "slow-h" }, `The ${fmt(rows.length)} slowest contests`),
      h("p", {}, "Ranked by the time from the close of poll until every station of the contest had reported; contests not there yet come first, by the time so far and then by the share reported. Postponed contests are left out."),
      table("The slowest contests", ["Contest", "Assembly", "Reported", "To first form", "To all forms", "To declared"], rows, { numeric: [2, 3, 4, 5] })));
}

export { delayPage as delay };
