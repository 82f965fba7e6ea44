// A contest's totals before its stations' re-polls (the polling-day forms) beside the totals
// after (the re-poll forms counted instead), candidate by candidate, then station by station.
// The polling-day forms stay in the ledger; they no longer count (docs/rules.md).
import { fmt, h, person, swatch, table } from "./dom.js";

const signed = (n) => (n > 0 ? "+" : "") + fmt(n);

function votesText(votes, names) {
  return Object.entries(votes).map(([id, n]) => `${names[id]?.name || id} ${fmt(n)}`).join(", ");
}

export function rePollSection(c, names) {
  const r = c.re_polls;
  if (!r) return null;
  const ids = c.candidates.map((k) => k.id).sort((a, b) => (r.after[b] || 0) - (r.after[a] || 0));
  const rows = ids.map((id) => {
    const k = names[id];
    const change = r.change[id] || 0;
    return h("tr", { "data-re-poll-candidate": id },
      h("td", {}, swatch(k.side), person(k.name, k.name_ur)),
      h("td", { class: "n" }, fmt(r.before[id] || 0)),
      h("td", { class: "n" }, fmt(r.after[id] || 0)),
      h("td", { class: change ? "n differs" : "n" }, signed(change)));
  });
  const stations = r.stations.map((s) => h("tr", { "data-station": s.station },
    h("td", {}, s.station),
    h("td", {}, Object.keys(s.before).length ? votesText(s.before, names) : "no form before the order"),
    h("td", {}, s.after ? votesText(s.after, names) : "re-poll form not yet in")));
  return h("section", { "data-testid": "re-polls" },
    h("h2", {}, "Before and after the re-poll"),
    h("p", {}, `${r.stations.length} station${r.stations.length === 1 ? "" : "s"} re-polled. Before: the polling-day forms; after: the re-poll forms counted in their place. The polling-day forms stay in the ledger.`),
    table(`${c.contest}: votes before and after the re-poll`, ["Candidate", "Before the re-poll", "After the re-poll", "Change"], rows, { numeric: [1, 2, 3] }),
    table(`${c.contest}: re-polled stations`, ["Station", "Polling day", "Re-poll"], stations));
}
