// "Where does this number come from?": the dialog a number opens. It fetches the signed
// checkpoint of the answer the number came from and the signed entries behind the number,
// and checks them here, in the reader's browser (verify.js, WebCrypto): the Ed25519
// signature of the checkpoint, each entry's inclusion proof under it, and that the entries
// add up to the number shown. The log's key is kept from the first visit, so a server that
// changes it is caught.
import { h } from "./dom.js";
import { fromBase64, parseVerifierKey, verifyCheckpoint, verifyEvidence, verifyProofOf } from "./verify.js";

const enc = encodeURIComponent;
const PINNED = "tallyproof.log-key";

async function json(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// The log's key: as first seen by this browser, which a reader can compare with the one the
// election authority publishes elsewhere.
async function logKey() {
  const served = await json("/v1/log-key");
  const pinned = localStorage.getItem(PINNED);
  if (!pinned) localStorage.setItem(PINNED, served.vkey);
  const changed = pinned && pinned !== served.vkey;
  return { vkey: pinned || served.vkey, served: served.vkey, changed, key: await parseVerifierKey(pinned || served.vkey) };
}

export async function openVerifier(data, state) {
  const dialog = document.getElementById("verify");
  const body = document.getElementById("verify-body");
  const size = Number(data.size);
  body.replaceChildren(h("p", { "data-testid": "verify-progress" }, "Checking…"));
  if (!dialog.open) dialog.showModal();
  try {
    const key = await logKey();
    const checkpoint = await json(`/v1/checkpoints/${size}`);
    const steps = [];
    if (key.changed) steps.push(["bad", `The log's key has changed since this browser first saw it (${key.served}); checked against the first one.`]);
    const cp = await verifyCheckpoint(checkpoint.checkpoint, key.key);
    steps.push(cp.ok ? ["ok", `The checkpoint of ${size.toLocaleString("en-US")} entries is signed by the log's key ${key.vkey.split("+")[0]} (Ed25519).`]
      : ["bad", `The checkpoint does not verify: ${cp.reason}`]);
    if (cp.ok) steps.push(...(await checkNumber(data, state, size, key.key)));
    const ok = steps.every(([kind]) => kind === "ok");
    body.replaceChildren(
      h("p", { class: ok ? "result-ok" : "result-bad", "data-testid": "verify-result", "data-ok": String(ok) },
        ok ? "Verified in your browser." : "Verification FAILED."),
      h("ul", {}, steps.map(([kind, text]) => h("li", { class: kind === "ok" ? "" : "result-bad" }, kind === "ok" ? "✓ " : "✗ ", text))),
      h("h3", {}, "The signed checkpoint"),
      h("pre", { class: "note", "data-testid": "verify-note" }, checkpoint.checkpoint),
      h("p", {}, "Check it yourself: ", h("code", {}, `tallyproof verify-receipt`), " or any C2SP tlog-checkpoint verifier, with the log's key ", h("code", {}, key.vkey), "."));
  } catch (err) {
    body.replaceChildren(h("p", { class: "result-bad", "data-testid": "verify-result", "data-ok": "false" }, `Verification FAILED: ${err.message}`));
  }
}

async function checkNumber(data, state, size, key) {
  const value = Number(data.value);
  if (data.kind === "form") return checkForm(Number(data.leaf), data.field, value, size, key);
  if (data.kind === "contest" || data.kind === "declared") {
    const evidence = await json(`/v1/elections/${enc(state.election)}/contests/${enc(data.contest)}/evidence?as_of=${size}`);
    return checkContest(evidence, data, value, key);
  }
  return [["ok", "A national figure counts contests; open a contest to check the signed forms behind its numbers."]];
}

async function checkForm(leaf, field, value, size, key) {
  const [entry, proof] = await Promise.all([
    json(`/v1/ledger/entries/${leaf}`),
    json(`/v1/proofs/inclusion?leaf_index=${leaf}&tree_size=${size}`),
  ]);
  const bytes = fromBase64(entry.leaf);
  const proven = await verifyProofOf(bytes, leaf, proof, proof.checkpoint, key);
  const steps = [proven.ok ? ["ok", `Entry ${leaf} is in the signed tree (inclusion proof of ${proof.inclusion_proof.length} hashes).`]
    : ["bad", `Entry ${leaf} is not proven in the signed tree: ${proven.reason}`]];
  const body = JSON.parse(new TextDecoder().decode(bytes)).body;
  const stated = field === "polled" || field === "rejected" ? body[field] : body.votes?.[field];
  steps.push(stated === value ? ["ok", `The signed form says ${value.toLocaleString("en-US")} (${field}).`]
    : ["bad", `The signed form says ${stated}, the page shows ${value} (${field}).`]);
  return steps;
}

async function checkContest(evidence, data, value, key) {
  const report = await verifyEvidence(evidence, key);
  const steps = [];
  if (report.failures.length) {
    for (const f of report.failures) steps.push(["bad", `${f.what}${f.station ? " " + f.station : ""}: ${f.reason}`]);
  } else {
    steps.push(["ok", `${report.checked} official station forms, each proven in the signed tree, add up to the computed totals.`]);
  }
  const field = data.field;
  const from = data.kind === "declared" || (field === "margin" && data.basis === "declared") ? report.declared?.votes : report.sums?.votes;
  let found = null;
  if (field === "stations") found = report.checked;
  else if (field === "margin" && from) {
    const top = Object.values(from).sort((a, b) => b - a);
    found = (top[0] ?? 0) - (top[1] ?? 0);
  } else if (from) found = from[field] ?? 0;
  if (found === null) steps.push(["bad", "No signed entry behind this number."]);
  else steps.push(found === value ? ["ok", `The signed ${data.kind === "declared" ? "declaration (Form 47)" : "forms"} give ${value.toLocaleString("en-US")}, the number shown.`]
    : ["bad", `The signed entries give ${found}, the page shows ${value}.`]);
  return steps;
}
