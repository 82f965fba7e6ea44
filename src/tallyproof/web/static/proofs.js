// "Where does this number come from?": the dialog a number opens. It fetches the signed
// checkpoint of the answer the number came from and the signed entries behind the number,
// and checks them here, in the reader's browser (verify.js, WebCrypto): the Ed25519
// signature of the checkpoint, each entry's inclusion proof under it, and that the entries
// add up to the number shown; then whether the log's witnesses cosigned that checkpoint or a
// later one proven to extend it. The log's key is kept from the first visit, so a server that
// changes it is caught.
import { fmt, h } from "./dom.js";
import {
  fromBase64, parseVerifierKey, parseWitnessKey, verifyCheckpoint, verifyConsistency, verifyCosignatures,
  verifyEvidence, verifyProofOf,
} from "./verify.js";

const enc = encodeURIComponent;
const PINNED = "tallyproof.log-key";

// `absent`: a 404 is an answer ("none yet"), null, rather than an error.
async function json(url, { absent = false } = {}) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (absent && response.status === 404) return null;
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
    // the witnesses are asked while the number is checked: neither waits for the other
    const [numberSteps, witnessed] = cp.ok
      ? await Promise.all([checkNumber(data, state, size, key.key), checkWitnesses(size, cp, key.key)])
      : [[], null];
    steps.push(...numberSteps);
    const witnessSteps = witnessed ? [witnessed.summary, ...witnessed.steps] : [];
    const ok = ![...steps, ...witnessSteps].some(([kind]) => kind === "bad");
    body.replaceChildren(
      h("p", { class: ok ? "result-ok" : "result-bad", "data-testid": "verify-result", "data-ok": String(ok) },
        ok ? "Verified in your browser." : "Verification FAILED."),
      stepList(steps),
      witnessed ? witnessSection(witnessed) : null,
      h("h3", {}, "The signed checkpoint"),
      h("pre", { class: "note", "data-testid": "verify-note" }, checkpoint.checkpoint),
      h("p", {}, "Check it yourself: ", h("code", {}, `tallyproof verify-receipt`), " or any C2SP tlog-checkpoint verifier, with the log's key ", h("code", {}, key.vkey), "."));
  } catch (err) {
    body.replaceChildren(h("p", { class: "result-bad", "data-testid": "verify-result", "data-ok": "false" }, `Verification FAILED: ${err.message}`));
  }
}

// ✓ checked, ✗ failed, · said (neither: a fact the reader should know, such as "not yet
// witnessed", which does not make the number's check fail).
const MARKS = { ok: "✓ ", bad: "✗ ", note: "· " };
function stepList(steps) {
  return h("ul", {}, steps.map(([kind, text]) => h("li", { class: kind === "bad" ? "result-bad" : "" }, MARKS[kind], text)));
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

// ---- witnesses ------------------------------------------------------------------------
// A checkpoint signed by the log alone is its word: it could show another reader another
// history. Witnesses (observers, parties) cosign the newest checkpoint every few seconds, so
// the one a number was read at is covered by a later one the quorum cosigned, once that one
// is proven to extend it. Everything is checked here: the log's signature on the witnessed
// checkpoint, each cosignature against the witnesses' keys, the count against the quorum,
// and the consistency proof between the two roots. The server's own verdict ("witnessed",
// "cosigned_by") is not read.

const plural = (n, one, many) => `${fmt(n)} ${n === 1 ? one : many}`;
const utc = (seconds) => `${new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ")} UTC`;

// {state, summary: [kind, text], about (the policy, in words), steps: [[kind, text]] (one a
// witness)}; state is "none", "pending", "witnessed" or "failed" (for the page's tests).
// "none" and "pending" are facts, not failures: the number itself may still verify.
async function checkWitnesses(size, cp, logKey) {
  const policy = await json("/v1/witnesses");
  const names = policy.witnesses.map((w) => w.name);
  if (!names.length) {
    return { state: "none", summary: ["note", "This log names no witnesses: its checkpoints are its own word."], steps: [] };
  }
  const about = `The log names ${plural(names.length, "witness", "witnesses")} (${names.join(", ")}); ${fmt(policy.quorum)} must cosign.`;
  const result = (state, kind, text, steps = []) => ({ state, summary: [kind, text], about, steps });
  const found = await json("/v1/checkpoints/witnessed", { absent: true });
  if (!found) return result("pending", "note", "Not yet witnessed: the witnesses' quorum has cosigned no checkpoint of this log yet.");
  if (found.tree_size < size) {
    const older = plural(size - found.tree_size, "entry", "entries");
    return result("pending", "note", `Not yet witnessed: the newest checkpoint the witnesses cosigned is at size ${fmt(found.tree_size)} (${older} older).`);
  }
  const at = `the checkpoint at size ${fmt(found.tree_size)}`;
  const fail = (text, steps) => result("failed", "bad", `Witnessing FAILED: ${text}`, steps);
  // the log's signature first: cosignatures on a checkpoint the log did not sign prove nothing
  const signed = await verifyCheckpoint(found.cosigned, logKey);
  if (!signed.ok) return fail(`${at} the log calls witnessed does not verify: ${signed.reason}.`);
  if (signed.treeSize !== found.tree_size) return fail(`the log calls ${at} witnessed, but it is of size ${fmt(signed.treeSize)}.`);
  const keys = await Promise.all(policy.witnesses.map((w) => parseWitnessKey(w.vkey)));
  const checked = await verifyCosignatures(found.cosigned, keys);
  const time = new Map(checked.cosigned.map((c) => [c.witness, c.timestamp]));
  const why = new Map(checked.failed.map((f) => [f.witness, f.reason]));
  const steps = names.map((name) => time.has(name) ? ["ok", `${name} cosigned it at ${utc(time.get(name))}.`]
    : why.has(name) ? ["bad", `${name}: ${why.get(name)}.`] : ["note", `${name} has not cosigned it.`]);
  const count = checked.cosigned.length;
  const holds = count >= policy.quorum;
  const counted = `${fmt(count)} of ${fmt(names.length)} witnesses, ${fmt(policy.quorum)} needed`;
  const tally = `${counted} (quorum ${holds ? "holds" : "not met"})`;
  const by = names.filter((name) => time.has(name)).join(", ") || "no witness";
  // a forged line is the server's doing: the note is refused whatever the others say, so no
  // quorum is claimed even if the lines that verify would make one
  const forged = [...why.keys()].join(", ");
  if (!checked.ok) {
    const verified = `verified: ${by} — ${holds ? counted : tally}`;
    return fail(`${at} carries a cosignature that does not verify (${forged}), so none is counted; ${verified}.`, steps);
  }
  if (!holds) return fail(`the log calls ${at} witnessed, but it is cosigned by ${by} — ${tally}.`, steps);
  // the witnessed tree must extend this number's: the roots of both verified checkpoints
  let covers = "this checkpoint itself";
  if (found.tree_size > size) {
    const answer = await json(`/v1/proofs/consistency?first=${size}&second=${found.tree_size}`);
    const proof = (answer.consistency_proof ?? []).map(fromBase64);
    const consistent = proof.every(Boolean)
      ? await verifyConsistency(size, found.tree_size, proof, cp.rootHash, signed.rootHash)
      : { ok: false, reason: "the proof is not base64" };
    if (!consistent.ok) return fail(`${at} is not proven to extend this one, at size ${fmt(size)}: ${consistent.reason}.`, steps);
    covers = `which extends this checkpoint (consistency proof of ${plural(proof.length, "hash", "hashes")} checked)`;
  } else {
    const same = await verifyConsistency(size, size, [], cp.rootHash, signed.rootHash);
    if (!same.ok) return fail(`${at} has another root than this checkpoint.`, steps);
  }
  return result("witnessed", "ok", `Witnessed: cosigned by ${by} — ${tally} — at size ${fmt(found.tree_size)}, ${covers}.`, steps);
}

// The verdict's first words ("Witnessed:", "Not yet witnessed:") stand out; a failure is red
// throughout, as the number's own failures are.
function witnessSection(w) {
  const [kind, text] = w.summary;
  const colon = text.indexOf(":") + 1;
  const lead = h("strong", { class: kind === "ok" ? "result-ok" : null }, MARKS[kind], text.slice(0, colon));
  return h("section", { "data-testid": "verify-witnesses", "data-state": w.state, "aria-labelledby": "verify-witnesses-h" },
    h("h3", { id: "verify-witnesses-h" }, "Witnesses"),
    h("p", { class: kind === "bad" ? "result-bad" : null, "data-testid": "witness-summary" }, lead, text.slice(colon)),
    w.steps.length ? stepList(w.steps) : null,
    w.about ? h("p", {}, w.about) : null);
}
