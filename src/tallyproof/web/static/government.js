// The government page: the National Assembly's seats per party before and after independents
// join, the reserved seats for women (per province) and non-Muslims, the total of 336 against
// the majority line, and a what-if: "had these independents joined that party".
import { api, current, link } from "./app.js";
import { colour, fmt, h, swatch, table } from "./dom.js";

const enc = encodeURIComponent;

export async function government(route) {
  const p = route.params;
  const scenario = { what_if: p.get("what_if"), exclude: p.get("exclude") };
  const answer = await api(`/elections/${enc(current().election)}/government`, scenario);
  const top = answer.parties.reduce((a, r) => (r.total > (a?.total ?? -1) ? r : a), null);
  return h("div", { "data-testid": "government" },
    h("h1", {}, "National Assembly: who can form a government"),
    h("div", { class: "tiles" },
      tile(`${fmt(answer.total_seats)}`, "seats: general, women, non-Muslim"),
      tile(`${fmt(answer.majority)}`, "seats for a majority", "majority"),
      tile(top ? `${top.side} ${fmt(top.total)}` : "—", "largest side", "largest"),
      tile(fmt(answer.undecided), "general seats not yet won or led")),
    whatIfForm(scenario),
    h("section", { class: "card", "aria-labelledby": "gv-h" },
      h("h2", { id: "gv-h" }, "Seats by party"),
      partyTable(answer),
      h("p", {}, "Returned: general seats won or led as elected. After joining: independents who joined a party counted for it. Women's and non-Muslims' seats go to parties in proportion to the general seats they won (independents who joined within three days of the notification included), by largest remainder.")),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "rs-h" },
        h("h2", { id: "rs-h" }, "Reserved seats"), reservedTable(answer.reserved)),
      h("section", { class: "card", "aria-labelledby": "jn-h" },
        h("h2", { id: "jn-h" }, "Joinings"), joiningList(answer.joinings))));
}

function tile(big, label, testid) {
  return h("div", { class: "tile", "data-testid": testid || null }, h("div", { class: "big" }, big), h("div", { class: "label" }, label));
}

function whatIfForm(scenario) {
  return h("form", { class: "filters", "aria-label": "What if", "data-testid": "what-if", onsubmit: (ev) => {
    ev.preventDefault();
    const data = new FormData(ev.target);
    location.hash = link("government", null, Object.fromEntries([...data].filter(([, v]) => v)));
  } },
    h("label", {}, "What if", h("input", { name: "what_if", value: scenario.what_if || "", placeholder: "backed:PTI=SIC or NA-1/a=PML-N", size: 30 })),
    h("label", {}, "No reserved seats for", h("input", { name: "exclude", value: scenario.exclude || "", placeholder: "SIC" })),
    h("button", { type: "submit" }, "Count"));
}

function partyTable(answer) {
  const rows = answer.parties.map((r) => h("tr", { "data-side": r.side, class: r.total >= answer.majority ? "majority" : null },
    h("td", {}, swatch(r.side), r.side),
    ...[r.general_before, r.general_after, r.leading, r.women, r.non_muslim].map((n) => h("td", { class: "n" }, fmt(n))),
    h("td", { class: "n", "data-testid": "total" }, h("strong", {}, fmt(r.total))),
    h("td", {}, bar(r.side, r.total, answer.total_seats, answer.majority))));
  return table("Seats by party", ["Side", "Returned", "After joining", "Leading", "Women", "Non-Muslim", "Total", `Against the majority (${answer.majority})`], rows, { numeric: [1, 2, 3, 4, 5, 6] });
}

// A bar of the side's total with a mark at the majority line.
function bar(side, total, seats, majority) {
  const pct = (n) => `${(100 * n) / Math.max(seats, 1)}%`;
  return h("div", { class: "gov-bar", role: "img", "aria-label": `${total} of ${seats}; majority ${majority}` },
    h("span", { class: "gov-fill", style: { width: pct(total), background: colour(side) } }),
    h("span", { class: "gov-line", style: { left: pct(majority) } }));
}

function reservedTable(pools) {
  const rows = pools.map((x) => h("tr", {},
    h("td", {}, x.pool.replace(/^women:/, "Women, ").replace("non-muslim", "Non-Muslims")),
    h("td", { class: "n" }, fmt(x.seats)),
    h("td", {}, Object.entries(x.awarded).map(([p, n]) => `${p} ${n}`).join(", ") || "—"),
    h("td", {}, Object.entries(x.basis).map(([p, n]) => `${p} ${n}`).join(", ") || "—"),
    h("td", {}, x.by_remainder.join(", ") || "—"),
    h("td", { class: "n" }, fmt(x.unallocated))));
  return table("Reserved seats", ["Pool", "Seats", "Awarded", "On general seats", "By remainder", "Unallocated"], rows, { numeric: [1, 5] });
}

function joiningList(joinings) {
  if (!joinings.length) return h("p", {}, "No independent has joined a party.");
  return h("ul", {}, joinings.map((j) => h("li", {},
    `${j.hypothetical ? "What if " : ""}${j.candidate} (${j.contest}) → ${j.party}`,
    j.date ? `, ${j.date}` : "",
    j.in_window ? "" : " — after the three days: no reserved seats")));
}
