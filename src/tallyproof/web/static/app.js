// The dashboard: routes in the URL's fragment, data from the public API only, live from the
// feed, any moment of the night through `as_of`. Views are in views.js.
import { h } from "./dom.js";
import { views } from "./views.js";
import { openVerifier } from "./proofs.js";
import { delay } from "./delay.js";
import { government } from "./government.js";

views.delay = delay; // the results-delay page (delay.js)
views.government = government; // the National Assembly's arithmetic (government.js)

const state = {
  elections: [],
  election: null,
  asOf: null, // a tree size, or null for live
  latest: 0, // the newest signed size the page has seen
  signed: null, // the newest checkpoint size the feed has announced
  feed: null,
  listeners: new Set(),
  recent: [], // the feed's latest events, newest first, for the pages that list them
  refreshTimer: null,
  lastRender: 0,
};

// ---- the API -------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function api(path, params = {}, { live = false, newest = false } = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") query.set(k, v);
  // a live page asks for the size the feed last announced, so that every page open at that
  // moment asks the same question, answered once and cached (and cacheable: it is settled);
  // `newest` asks a live question at the newest size instead: the whole election's findings,
  // which the server keeps and advances, but must replay (seconds) at a size behind its own
  const at = newest ? state.asOf : state.asOf ?? state.signed;
  if (!live && at !== null && !query.has("as_of")) query.set("as_of", at);
  const url = `/v1${path}${query.toString() ? "?" + query : ""}`;
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  if (body && typeof body.tree_size === "number") noteSize(body.tree_size);
  return body;
}

function noteSize(size) {
  if (state.asOf === null && size > state.latest) {
    state.latest = size;
    syncTimeControl();
  }
}

export function current() {
  return state;
}

// ---- routes --------------------------------------------------------------------------
// #/<election>[/<page>/<id>][?as_of=N&...]
export function parseRoute() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { election: parts[0] || null, page: parts[1] || "national", id: parts[2] || null, params: new URLSearchParams(query) };
}

export function link(page, id, params = {}) {
  const e = encodeURIComponent(state.election || "");
  const base = page === "national" ? `#/${e}` : `#/${e}/${page}${id ? "/" + encodeURIComponent(id) : ""}`;
  const q = new URLSearchParams(params);
  if (state.asOf !== null) q.set("as_of", state.asOf);
  return q.toString() ? `${base}?${q}` : base;
}

function go(route) {
  const q = new URLSearchParams(route.params);
  if (state.asOf !== null) q.set("as_of", state.asOf); else q.delete("as_of");
  const e = encodeURIComponent(route.election);
  const base = route.page === "national" ? `#/${e}` : `#/${e}/${route.page}${route.id ? "/" + encodeURIComponent(route.id) : ""}`;
  const next = q.toString() ? `${base}?${q}` : base;
  if (location.hash !== next) location.hash = next; else render();
}

// ---- rendering -----------------------------------------------------------------------
// One render at a time: one asked for while another runs is done once it ends.
let rendering = null;
let again = false;
async function render(options = {}) {
  if (rendering) {
    again = true;
    return rendering;
  }
  rendering = draw(options);
  try {
    await rendering;
  } finally {
    rendering = null;
  }
  if (again) {
    again = false;
    await render({ quiet: true });
  }
}

async function draw({ quiet = false } = {}) {
  const route = parseRoute();
  if (!route.election) {
    // the newest general election the log holds, else the newest of any kind
    const newest = [...state.elections].reverse();
    const first = newest.find((e) => e.kind === "general") || newest[0];
    if (first) location.replace(`#/${encodeURIComponent(first.id)}`);
    else show(h("p", {}, "No election in the log yet. This page updates when one is loaded."));
    return;
  }
  const asOf = route.params.get("as_of");
  state.asOf = asOf === null ? null : Number(asOf);
  if (route.election !== state.election) switchElection(route.election);
  syncTimeControl();
  drawNav(route);
  const view = views[route.page];
  if (!view) return show(h("p", {}, `No page ${route.page}.`));
  const started = performance.now();
  try {
    const content = await view(route);
    show(content, quiet);
    setStatus(state.asOf === null ? `Live · entry ${state.latest.toLocaleString("en-US")}` : `As of entry ${state.asOf.toLocaleString("en-US")} (not live)`);
    if (!state.lastRender) document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
    document.body.dataset.rendered = String(++state.lastRender);
    document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  } catch (err) {
    setStatus(err.message || String(err), true);
    if (!quiet) show(h("p", { class: "banner warn", role: "alert" }, err.message || String(err)));
  }
}

function show(content, quiet = false) {
  const main = document.getElementById("main");
  const y = window.scrollY;
  main.replaceChildren(content);
  if (quiet) window.scrollTo(0, y);
}

function setStatus(text, error = false) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

function drawNav(route) {
  const election = state.elections.find((e) => e.id === state.election);
  const items = [["national", null, "National"]];
  for (const a of election?.assemblies || []) items.push(["assembly", a.code, a.code === "NA" ? "National Assembly" : a.name.replace(/^Provincial Assembly of (the )?/, "")]);
  if (election?.assemblies?.some((a) => a.code === "NA")) items.push(["government", null, "Government"]);
  items.push(["findings", null, "Findings"]);
  items.push(["delay", null, "Delay"]);
  document.getElementById("nav").replaceChildren(...items.map(([page, id, label]) => {
    const here = route.page === page && (id === null || route.id === id);
    return h("li", {}, h("a", { href: link(page, id), "aria-current": here ? "page" : null }, label));
  }));
  const select = document.getElementById("election");
  if (select.options.length !== state.elections.length) {
    select.replaceChildren(...state.elections.map((e) => h("option", { value: e.id }, e.name)));
  }
  select.value = state.election;
}

// ---- the live feed -------------------------------------------------------------------
function switchElection(id) {
  state.election = id;
  state.feed?.close();
  // one digest a commit, not one event an entry: a national night's hundreds of entries a
  // second would cost every open page, and the server, forty times the bytes
  const params = new URLSearchParams({ election: id, digest: "true" });
  if (state.latest > 0) params.set("after", String(Math.max(-1, state.latest - 25)));
  const feed = new EventSource(`/v1/events?${params}`);
  feed.addEventListener("digest", (ev) => queueEvent(ev.data));
  state.feed = feed;
}

// Digests are taken in twice a second, however fast they come: the page redraws once for
// all of them.
const SHOWN = 40;
let queued = [];
let flushTimer = null;

function queueEvent(data) {
  queued.push(data);
  if (!flushTimer) flushTimer = setTimeout(flush, 500);
}

function flush() {
  const digests = queued.map((data) => JSON.parse(data));
  queued = [];
  flushTimer = null;
  const before = state.latest;
  for (const d of digests) {
    if (!d.checkpoint) continue;
    state.signed = Math.max(state.signed ?? 0, d.tree_size);
    state.latest = Math.max(state.latest, d.tree_size);
  }
  const changes = digests.flatMap((d) => d.latest).slice(-SHOWN);
  const findings = digests.flatMap((d) => d.findings_opened);
  state.recent = [...[...changes].reverse(), ...state.recent].slice(0, SHOWN); // newest first
  for (const listener of state.listeners) listener({ changes, findings, digests }); // oldest first
  if (state.latest > before) {
    syncTimeControl();
    if (state.asOf === null) scheduleRefresh();
  }
}

export function onFeed(listener) {
  state.listeners.add(listener);
}

// Live pages redraw at most every two seconds whatever the rate of commits, on the clock's
// even seconds: pages open at the same moment ask the same question at the same size, and
// the server answers them all from one computation.
const REFRESH_MS = 2000;
function scheduleRefresh() {
  if (state.refreshTimer) return;
  const wait = REFRESH_MS - (Date.now() % REFRESH_MS);
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    if (state.asOf === null && !document.getElementById("verify").open) render({ quiet: true });
  }, wait);
}

// ---- the time control ----------------------------------------------------------------
function syncTimeControl() {
  const slider = document.getElementById("time-size");
  const live = document.getElementById("time-live");
  slider.max = String(Math.max(state.latest, 1));
  slider.value = String(state.asOf ?? state.latest);
  document.getElementById("time-label").textContent = (state.asOf ?? state.latest).toLocaleString("en-US");
  live.setAttribute("aria-pressed", String(state.asOf === null));
  slider.setAttribute("aria-valuetext", state.asOf === null ? `live, entry ${state.latest}` : `entry ${state.asOf}`);
}

function setupTimeControl() {
  const slider = document.getElementById("time-size");
  let pending = null;
  slider.addEventListener("input", () => {
    document.getElementById("time-label").textContent = Number(slider.value).toLocaleString("en-US");
    clearTimeout(pending);
    pending = setTimeout(() => travel(Number(slider.value)), 250);
  });
  document.getElementById("time-at").addEventListener("change", async (ev) => {
    const value = ev.target.value;
    if (!value) return;
    const at = new Date(value).toISOString();
    try {
      travel((await api(`/elections/${encodeURIComponent(state.election)}`, { as_of: at })).tree_size);
    } catch (err) {
      setStatus(err.message, true);
    }
  });
  document.getElementById("time-live").addEventListener("click", () => travel(null));
  document.getElementById("time").addEventListener("submit", (ev) => ev.preventDefault());
}

function travel(size) {
  state.asOf = size === null || size >= state.latest ? null : size;
  go(parseRoute());
}

async function refreshElections() {
  try {
    const answer = await api("/elections", {}, { live: true });
    if (answer.elections.length !== state.elections.length) {
      state.elections = answer.elections;
      drawNav(parseRoute());
    }
  } catch {
    // the next try will tell
  }
}

// ---- start ---------------------------------------------------------------------------
async function start() {
  setupTimeControl();
  document.getElementById("election").addEventListener("change", (ev) => {
    state.asOf = null;
    location.hash = `#/${encodeURIComponent(ev.target.value)}`;
  });
  document.getElementById("main").addEventListener("click", (ev) => {
    const target = ev.target.closest("button.num");
    if (target) openVerifier(target.dataset, state);
  });
  window.addEventListener("hashchange", () => render());
  setInterval(refreshElections, 30000); // an election loaded tonight joins the list
  // The fragment holds the route: followed, the skip link's "#main" would be read as an
  // election named "main". It moves the focus to the results instead.
  document.querySelector(".skip").addEventListener("click", (ev) => {
    ev.preventDefault();
    document.getElementById("main").focus();
  });
  try {
    const answer = await api("/elections", {}, { live: true });
    state.elections = answer.elections;
    state.latest = answer.tree_size;
  } catch (err) {
    setStatus(`The log cannot be read: ${err.message}`, true);
  }
  render();
}

start();
