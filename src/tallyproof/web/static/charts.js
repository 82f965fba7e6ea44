// The two figures of the national page, drawn as SVG: the assembly's seats as a hemicycle
// with the majority line, and the stations reported over the night.
import { colour, fmt, h, s } from "./dom.js";

// Seats in rows of a half circle, filled from the left by side: won seats solid, seats only
// led (still counting) as rings, seats nobody leads yet grey.
export function hemicycle(rows, totalSeats, title) {
  const seats = [];
  for (const r of rows) {
    for (let i = 0; i < r.won; i++) seats.push({ side: r.side, won: true });
    for (let i = 0; i < r.leading; i++) seats.push({ side: r.side, won: false });
  }
  while (seats.length < totalSeats) seats.push(null);
  const positions = layout(totalSeats);
  const majority = Math.floor(totalSeats / 2) + 1;
  const svg = s("svg", { viewBox: "-110 -117 220 124", role: "img", "aria-labelledby": "seat-title seat-desc" },
    s("title", { id: "seat-title" }, title),
    s("desc", { id: "seat-desc" }, rows.map((r) => `${r.side}: ${r.won} won, ${r.leading} leading`).join("; ")));
  positions.forEach((p, i) => {
    const seat = seats[i];
    const fill = seat ? colour(seat.side) : "#dde1e6";
    svg.append(s("circle", {
      cx: p.x.toFixed(2), cy: p.y.toFixed(2), r: p.r.toFixed(2),
      fill: seat && !seat.won ? "#fff" : fill, stroke: fill, "stroke-width": seat && !seat.won ? 1.2 : 0,
    }));
  });
  // the label above the outer row, where no seat is
  svg.append(s("line", { x1: 0, y1: -108, x2: 0, y2: 2, stroke: "#1b1f24", "stroke-dasharray": "3 2", "stroke-width": 0.8 }));
  svg.append(s("text", { x: 0, y: -110, "font-size": 6, "text-anchor": "middle" }, `majority ${fmt(majority)}`));
  return svg;
}

// Seats ordered by angle across rows, as parliaments draw them (left to right).
function layout(n) {
  const rowsCount = Math.max(1, Math.min(12, Math.round(Math.sqrt(n / 4.5))));
  const inner = rowsCount === 1 ? 80 : 35, outer = 100;
  const radii = Array.from({ length: rowsCount }, (_, i) => rowsCount === 1 ? 90 : inner + ((outer - inner) * i) / (rowsCount - 1));
  const length = radii.reduce((a, r) => a + r, 0);
  const counts = radii.map((r) => Math.round((n * r) / length));
  counts[counts.length - 1] += n - counts.reduce((a, c) => a + c, 0);
  const ring = rowsCount === 1 ? 20 : (outer - inner) / (rowsCount - 1);
  const seatR = Math.min(ring * 0.42, ((Math.PI * radii[radii.length - 1]) / Math.max(1, counts[counts.length - 1])) * 0.42, 8);
  const all = [];
  radii.forEach((r, row) => {
    const k = counts[row];
    for (let i = 0; i < k; i++) {
      const a = Math.PI - (Math.PI * (i + 0.5)) / k;
      all.push({ x: r * Math.cos(a), y: -r * Math.sin(a), r: seatR, a });
    }
  });
  return all.sort((p, q) => q.a - p.a);
}

// Cumulative stations reported against the time the log received their first form.
// `rows` are [{minute, stations}] or, `per` "second", [{second, stations}]
export function reportingCurve(rows, totalStations, per = "minute") {
  const w = 640, ht = 220, pad = 40;
  const points = [];
  let sum = 0;
  for (const m of rows) {
    sum += m.stations;
    points.push({ t: Date.parse(per === "second" ? m.second + "Z" : m.minute + ":00Z"), n: sum });
  }
  const svg = s("svg", { viewBox: `0 0 ${w} ${ht}`, role: "img", "aria-labelledby": "rep-title rep-desc" },
    s("title", { id: "rep-title" }, "Stations reported over time"),
    s("desc", { id: "rep-desc" }, `${fmt(sum)} of ${fmt(totalStations)} stations have reported.`));
  const y = (n) => ht - pad - ((ht - 2 * pad) * n) / Math.max(totalStations, 1);
  svg.append(s("line", { x1: pad, y1: y(0), x2: w - 10, y2: y(0), stroke: "#8894a0" }));
  svg.append(s("line", { x1: pad, y1: y(totalStations), x2: w - 10, y2: y(totalStations), stroke: "#c3c9d0", "stroke-dasharray": "4 3" }));
  svg.append(s("text", { x: 4, y: y(totalStations) + 4, "font-size": 11 }, fmt(totalStations)));
  svg.append(s("text", { x: 4, y: y(0) + 4, "font-size": 11 }, "0"));
  if (points.length) {
    const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + (per === "second" ? 10000 : 60000));
    const x = (t) => pad + ((w - pad - 10) * (t - t0)) / (t1 - t0);
    const path = [`M${x(t0).toFixed(1)},${y(0).toFixed(1)}`];
    for (const p of points) path.push(`L${x(p.t).toFixed(1)},${y(p.n).toFixed(1)}`);
    svg.append(s("path", { d: path.join(" "), fill: "none", stroke: "#0b5cad", "stroke-width": 2.5 }));
    const label = (t) => new Date(t).toISOString().slice(11, per === "second" ? 19 : 16) + " UTC";
    svg.append(s("text", { x: pad, y: ht - 12, "font-size": 11 }, label(t0)));
    svg.append(s("text", { x: w - 10, y: ht - 12, "font-size": 11, "text-anchor": "end" }, label(t1)));
  }
  return h("figure", {}, svg,
    h("figcaption", {}, `Polling stations that have reported (a first official form received by the log), by the ${per} the log received it: ${fmt(sum)} of ${fmt(totalStations)}.`));
}
