// Building the page from data with DOM calls only: every name and number from the log is
// text, never markup, so nothing a submitter writes can run in a reader's browser.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

const integers = new Intl.NumberFormat("en-US");
export const fmt = (n) => (n === null || n === undefined ? "—" : integers.format(n));
export const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)} %`);

export function table(caption, head, rows, { numeric = [] } = {}) {
  return h("div", { class: "scroll", role: "region", tabindex: "0", "aria-label": caption },
    h("table", {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, head.map((c, i) =>
        h("th", { scope: "col", class: numeric.includes(i) ? "n" : null }, c)))),
      h("tbody", {}, rows)));
}

export function progress(done, total, label) {
  return h("progress", { value: done, max: Math.max(total, 1), "aria-label": label });
}

// A candidate's name in Latin script, and in Urdu (right to left) where the structure has it.
export function person(name, nameUr) {
  return h("span", { class: "person" },
    h("span", { dir: "auto" }, name),
    nameUr ? h("span", { class: "ur", lang: "ur", dir: "rtl", "data-testid": "urdu-name" }, nameUr) : null);
}

const PARTY_COLOURS = {
  "PML-N": "#2e7d32", PPP: "#111111", "PPPP": "#111111", PTI: "#c62828", "MQM-P": "#6a1b9a",
  "JUI-F": "#8d6e63", JI: "#00695c", TLP: "#1565c0", IPP: "#ef6c00", "PML-Q": "#558b2f",
  BAP: "#0277bd", BNP: "#5d4037", ANP: "#d32f2f", "PTI-P": "#ad1457", "NP": "#455a64",
};

// Independents take the colour of the party that backed them, lighter; unbacked ones grey.
export function colour(side) {
  if (!side) return "#9aa3ad";
  const backed = /^IND \((.+)-backed\)$/.exec(side);
  if (backed) return lighten(PARTY_COLOURS[backed[1]] || "#78909c");
  if (side === "IND") return "#9aa3ad";
  return PARTY_COLOURS[side] || hashColour(side);
}

function lighten(hex) {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c) => Math.round(c + (255 - c) * 0.35);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(mix);
  return `rgb(${r}, ${g}, ${b})`;
}

function hashColour(text) {
  let x = 0;
  for (const ch of text) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${x % 360}, 45%, 38%)`;
}

export function swatch(side) {
  return h("span", { class: "swatch", style: { background: colour(side) }, "aria-hidden": "true" });
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString("en-GB", { hour12: false });
}
