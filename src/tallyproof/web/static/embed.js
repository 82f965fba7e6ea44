// The embeddable box for one contest (/embed/<election>/<contest>): the leading candidates,
// stations reported, and whether the declaration agrees with the forms, kept live by the
// feed; every figure links to the full page, where each number can be checked.
import { colour, fmt, h, person, progress, s } from "./dom.js";

const [, , election, code] = location.pathname.split("/").map(decodeURIComponent);
const base = `/v1/elections/${encodeURIComponent(election)}/contests/${encodeURIComponent(code)}`;
let timer = null;

async function draw() {
  const response = await fetch(base);
  const main = document.getElementById("main");
  if (!response.ok) {
    main.replaceChildren(h("p", {}, `No contest ${code} in ${election}.`));
    return;
  }
  const { contest: c, tree_size: size } = await response.json();
  const names = Object.fromEntries(c.candidates.map((k) => [k.id, k]));
  const top = c.ranking.slice(0, 4);
  const most = Math.max(1, ...top.map((r) => r.votes));
  const parts = [
    h("h1", {}, `${code} ${c.name}`),
    h("p", {}, progress(c.computed.stations_reported, c.computed.stations_total, "stations reported"),
      ` ${fmt(c.computed.stations_reported)} of ${fmt(c.computed.stations_total)} stations · ${c.basis === "declared" ? "declared" : c.status}`),
    c.winner_differs ? h("p", { class: "banner bad" }, "Form 47 names a different winner from the polling-station forms") : null,
    h("ol", { class: "bars" }, top.map((r) => h("li", {},
      person(r.name, names[r.candidate]?.name_ur), ` (${r.side}) `, h("strong", {}, fmt(r.votes)),
      s("svg", { viewBox: "0 0 100 6", width: "100%", height: "8", preserveAspectRatio: "none", "aria-hidden": "true" },
        s("rect", { width: (100 * r.votes) / most, height: 6, fill: colour(r.side) }))))),
    h("p", {}, h("a", { href: `/#/${encodeURIComponent(election)}/contest/${encodeURIComponent(code)}?as_of=${size}`, target: "_blank", rel: "noopener" },
      `Every station's form and its proof (entry ${fmt(size)})`))];
  main.replaceChildren(...parts.filter(Boolean));
}

// one digest a commit; redraw when a commit touched this contest
const feed = new EventSource(`/v1/events?election=${encodeURIComponent(election)}&digest=true`);
feed.addEventListener("digest", (ev) => {
  if (!JSON.parse(ev.data).contests.includes(code)) return;
  clearTimeout(timer);
  timer = setTimeout(draw, 1000);
});
draw();
