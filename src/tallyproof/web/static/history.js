// A contest's history: every entry that changed it (forms, declarations, status orders and
// events), newest first, each with its leaf index and the time the log received it; and its
// events (concessions, a renunciation, complaints with their tribunal status, joinings).
import { fmt, h, when } from "./dom.js";

const EVENT_NAMES = {
  concession: "Concession", renunciation: "Renunciation", joining: "Joining",
  complaint: "Complaint", petition: "Petition", complaint_update: "Complaint moved",
};
const STATUS_CLASS = { filed: "warn", hearing: "warn", decided: "ok", dismissed: "", withdrawn: "" };

export function historyList(history) {
  return h("ol", { class: "changes", reversed: true, tabindex: "0", "aria-label": "History of the contest", "data-testid": "history" },
    [...history].reverse().map((x) =>
      h("li", { "data-kind": x.kind, "data-leaf": x.leaf_index },
        h("span", { class: "label" }, `#${fmt(x.leaf_index)} ${when(x.received_at)} `),
        x.kind === "event" ? h("span", { class: "badge warn" }, "event") : null, " ", x.summary,
        x.opened.length ? h("span", { class: "badge bad" }, ` opened ${x.opened.map((f) => f.code).join(", ")}`) : null,
        x.resolved.length ? h("span", { class: "badge ok" }, ` resolved ${x.resolved.map((f) => f.code).join(", ")}`) : null)));
}

export function eventsList(events, names) {
  const shown = events.filter((e) => e.type !== "complaint_update");
  if (!shown.length) return h("p", {}, "No concession, renunciation, complaint or joining is logged for this contest.");
  return h("ul", { class: "changes", tabindex: "0", "aria-label": "Events of the contest", "data-testid": "events" }, shown.map((e) => {
    const who = e.candidate ? (names[e.candidate]?.name || e.candidate) : e.source;
    const status = e.status ? h("span", { class: `badge ${STATUS_CLASS[e.status] || ""}`, "data-testid": "event-status" }, e.status) : null;
    const cited = e.evidence ? ` citing ${e.evidence.length} form${e.evidence.length === 1 ? "" : "s"}` : "";
    const said = e.statement || e.summary || (e.party ? `joined ${e.party} on ${e.date}` : "");
    return h("li", { "data-type": e.type },
      h("strong", {}, EVENT_NAMES[e.type] || e.type), ` — ${who}${cited} `, status,
      said ? h("q", {}, said) : null, e.outcome ? ` Outcome: ${e.outcome}.` : null,
      h("span", { class: "label" }, ` #${fmt(e.leaf_index)} ${when(e.received_at)}`));
  }));
}
