// verify.js — checks in the reader's browser that the numbers a results page shows are sums of
// forms the log signed: C2SP signed-note checkpoints (Ed25519), the witnesses' C2SP
// tlog-cosignatures on them (Ed25519 cosignature/v1), RFC 9162 Merkle proofs (SHA-256) and
// the forms' own votes. WebCrypto only, no dependencies (docs/ledger.md).
//
// Results are values, {ok, reason, ...}: a failed check is an answer to show, not an error.
// Only a malformed verifier key throws, since without a key there is nothing to check with.

const DASH = "\u2014 "; // "— " opens every signature line of a signed note
const ED25519 = 0x01; // the signed-note key type byte
const COSIGNATURE_V1 = 0x04; // a witness's key type byte (Ed25519 cosignature/v1)
// docs/rules.md, "Who may sign what": only these sources' forms make the official chain.
const OFFICIAL_SOURCES = new Set(["presiding_officer", "returning_officer"]);
const utf8 = new TextEncoder();

// ---------------------------------------------------------------- bytes

// Strict base64 (padding required, nothing else admitted), as the log writes and Python reads
// it with validate=True: atob alone also accepts whitespace and missing padding.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes of a base64 text, or null if it is not strict base64. */
export function fromBase64(text) {
  if (typeof text !== "string" || !BASE64.test(text)) return null;
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export function toBase64(bytes) {
  return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(...parts) {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

const isHash = (h) => h instanceof Uint8Array && h.length === 32;
const passed = { ok: true, reason: null };
const failed = (reason) => ({ ok: false, reason });

// Tree sizes and indices as BigInt: JS bit operators truncate to 32 bits, and a log may grow
// past 2^32. JSON gives Numbers; the transparency-dev vectors need full 64-bit values.
function count(x) {
  if (typeof x === "bigint") return x >= 0n ? x : null;
  return Number.isSafeInteger(x) && x >= 0 ? BigInt(x) : null;
}

// ---------------------------------------------------------------- keys and notes

// C2SP signed-note: a key name is non-empty, without whitespace or "+".
const NAME = /^[^\s+]+$/u;

/** A verifier key `name+keyhash+base64(type || Ed25519 key)`: {name, keyHash, publicKey,
 * cryptoKey}. The key hash is the first 4 bytes of SHA-256(name || "\n" || type || key), so a
 * key of another type (a log's 0x01 key read as a witness's 0x04) does not match. Throws if
 * the text is malformed or the hash does not match. */
async function readKey(vkey, type, what) {
  // The base64 part may itself contain "+": split at the first two only.
  const text = String(vkey).trim();
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new Error(`a ${what} is name+hash+key`);
  const name = text.slice(0, first);
  const hashHex = text.slice(first + 1, second);
  const typed = fromBase64(text.slice(second + 1));
  if (!NAME.test(name)) throw new Error(`${what} name ${JSON.stringify(name)} is invalid`);
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw new Error("the key hash must be 8 hex digits");
  if (!typed || typed.length !== 33 || typed[0] !== type) {
    const kind = type === ED25519 ? "Ed25519" : "Ed25519 cosignature/v1";
    throw new Error(`the key must be 0x0${type} followed by 32 bytes (${kind})`);
  }
  const keyHash = (await sha256(utf8.encode(name), [0x0a], typed)).slice(0, 4);
  if (toHex(keyHash) !== hashHex) throw new Error(`${what} ${name}: hash does not match`);
  const publicKey = typed.slice(1);
  const cryptoKey = await crypto.subtle.importKey("raw", publicKey, "Ed25519", false, ["verify"]);
  return { name, keyHash, publicKey, cryptoKey };
}

/** The log's verifier key, `name+keyhash+base64(0x01 || Ed25519 key)` as /v1/log-key gives
 * it. Throws if the text is malformed or the hash does not match. */
export function parseVerifierKey(vkey) {
  return readKey(vkey, ED25519, "verifier key");
}

/** A witness's key, `name+keyhash+base64(0x04 || Ed25519 key)` as /v1/witnesses gives it
 * (C2SP tlog-cosignature). Throws if the text is malformed or the hash does not match. */
export function parseWitnessKey(vkey) {
  return readKey(vkey, COSIGNATURE_V1, "witness key");
}

const asKey = async (key) => (typeof key === "string" ? parseVerifierKey(key) : key);

/** A signed note's text (up to and including the newline before the blank line) and its
 * signature lines as {name, sig} (sig: the bytes after the name), or {ok: false, reason}. */
function readNote(note) {
  // Signatures cover UTF-8 bytes: a lone surrogate or a control character would be encoded
  // as something other than what was signed, so such a note is refused as Go refuses it.
  if (typeof note !== "string" || !note.isWellFormed() || /[\x00-\x09\x0b-\x1f]/.test(note)) {
    return failed("the note is not text");
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0) return failed("a signed note has a blank line before its signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith("\n")) return failed("the signature block must end with a newline");
  const lines = [];
  for (const line of block.slice(0, -1).split("\n")) {
    const space = line.indexOf(" ", DASH.length);
    const name = line.slice(DASH.length, space);
    const sig = fromBase64(line.slice(space + 1));
    if (!line.startsWith(DASH) || space < 0 || !NAME.test(name) || !sig || sig.length < 5) {
      return failed("malformed signature line");
    }
    lines.push({ name, sig });
  }
  return { ok: true, text, lines };
}

// A line is by a key when it names the key and starts with the key's hash (C2SP signed-note).
const byKey = (line, key) => line.name === key.name && equal(line.sig.subarray(0, 4), key.keyHash);

/** The text of a signed note if `key` signed it (as Go's sumdb/note Open does: other keys'
 * signatures, a witness's say, are skipped, but a bad one by our key, or two, fail the note;
 * so does ledger/note.py). */
async function openNote(note, key) {
  const read = readNote(note);
  if (!read.ok) return read;
  const ours = read.lines.filter((line) => byKey(line, key));
  if (ours.length > 1) return failed(`the note has ${ours.length} signature lines by ${key.name}`);
  if (!ours.length) return failed(`the note is not signed by ${key.name}`);
  const [{ sig }] = ours;
  const good =
    sig.length === 68 &&
    (await crypto.subtle.verify("Ed25519", key.cryptoKey, sig.subarray(4), utf8.encode(read.text)));
  if (!good) return failed(`the signature by ${key.name} does not verify`);
  return { ok: true, text: read.text };
}

/** One witness's cosignature line checked: {ok, reason, timestamp}. C2SP tlog-cosignature:
 * the bytes are key hash (4) || timestamp (u64 big-endian) || Ed25519 signature (64), the
 * signature over "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint's text. */
async function checkCosignature(line, key, text) {
  const { name, sig } = line;
  if (sig.length !== 4 + 8 + 64) return failed(`the cosignature of ${name} is not 76 bytes`);
  // The time is read as a BigInt, so that the decimal signed is exactly the one written; a
  // time past 2^53 seconds (285 million years) is no honest witness's and is refused.
  const time = new DataView(sig.buffer, sig.byteOffset + 4, 8).getBigUint64(0);
  if (time === 0n || time > BigInt(Number.MAX_SAFE_INTEGER)) {
    return failed(`the cosignature of ${name} has no valid timestamp`);
  }
  const message = utf8.encode(`cosignature/v1\ntime ${time}\n${text}`);
  const good = await crypto.subtle.verify("Ed25519", key.cryptoKey, sig.subarray(12), message);
  if (!good) return failed(`the cosignature by ${name} does not verify`);
  return { ok: true, reason: null, timestamp: Number(time) };
}

/** The witnesses' cosignatures on a signed note, by the keys `witnessKeys` (parseWitnessKey's
 * keys, or their vkey texts): {ok, reason, cosigned: [{witness, timestamp}], failed:
 * [{witness, reason}]}, in the keys' order. Lines by other keys (the log's own, a witness
 * not named) are skipped; a line that claims a named witness's name and key hash but does not
 * verify, or a second line by one, puts the witness in `failed`, not in `cosigned`, and `ok`
 * is false: C2SP signed-note makes such a note malformed, so a reader must not count any of
 * it. The note's own signature is not checked here: verifyCheckpoint does that. */
export async function verifyCosignatures(noteText, witnessKeys) {
  const asWitnessKey = (k) => (typeof k === "string" ? parseWitnessKey(k) : k);
  const keys = await Promise.all(witnessKeys.map(asWitnessKey));
  const read = readNote(noteText);
  if (!read.ok) return { ...read, cosigned: [], failed: [] };
  const found = new Map(); // witness name -> timestamp of its line
  const bad = new Map(); // witness name -> why its line failed
  for (const key of keys) {
    const lines = read.lines.filter((line) => byKey(line, key));
    if (!lines.length) continue;
    // one line a key, as for the log's own: an honest log sends one a witness (C2SP
    // signed-note: a note with two by one key is malformed)
    if (lines.length > 1) {
      bad.set(key.name, `the note has ${lines.length} cosignature lines by ${key.name}`);
      continue;
    }
    const checked = await checkCosignature(lines[0], key, read.text);
    if (checked.ok) found.set(key.name, checked.timestamp);
    else bad.set(key.name, checked.reason);
  }
  const cosigned = [...found]
    .filter(([witness]) => !bad.has(witness))
    .map(([witness, timestamp]) => ({ witness, timestamp }));
  const failedLines = [...bad].map(([witness, reason]) => ({ witness, reason }));
  const reason = failedLines.length ? failedLines.map((f) => f.reason).join("; ") : null;
  return { ok: !failedLines.length, reason, cosigned, failed: failedLines };
}

/** A C2SP tlog-checkpoint signed by the log: {origin, treeSize, rootHash, ok, reason}. The
 * origin, size and root are null unless the signature and the body check out. */
export async function verifyCheckpoint(noteText, key) {
  const k = await asKey(key);
  const refuse = (reason) => ({ origin: null, treeSize: null, rootHash: null, ok: false, reason });
  const opened = await openNote(noteText, k);
  if (!opened.ok) return refuse(opened.reason);
  // origin, size, root, then optional extension lines; the text ends with "\n".
  const [origin, size, root, ...rest] = opened.text.split("\n");
  if (rest.length === 0) return refuse("a checkpoint has an origin, a size and a root line");
  if (origin !== k.name) return refuse(`the checkpoint is of ${origin}, not ${k.name}`);
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    return refuse("the checkpoint size is not a decimal number");
  }
  const rootHash = fromBase64(root);
  if (!isHash(rootHash)) return refuse("the checkpoint root is not a base64 SHA-256 hash");
  return { origin, treeSize: Number(size), rootHash, ok: true, reason: null };
}

// ---------------------------------------------------------------- Merkle proofs

/** RFC 9162 §2.1.1: SHA-256(0x00 || leaf). */
export function leafHash(bytes) {
  return sha256([0x00], bytes);
}

const nodeHash = (left, right) => sha256([0x01], left, right);

/** RFC 9162 §2.1.3.2: is `leaf` (a leaf hash) at `index` of the tree of `treeSize` leaves
 * whose root is `root`? Hashes are Uint8Arrays; returns {ok, reason}. */
export async function verifyInclusion(leaf, index, treeSize, proof, root) {
  if (!isHash(leaf) || !isHash(root)) return failed("leaf and root must be SHA-256 hashes");
  if (!proof.every(isHash)) return failed("every proof element must be a SHA-256 hash");
  let fn = count(index);
  const size = count(treeSize);
  if (fn === null || size === null || fn >= size) {
    return failed(`leaf index ${index} is outside a tree of size ${treeSize}`);
  }
  let sn = size - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return failed("the inclusion proof is longer than the tree is high");
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (!(fn & 1n) && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      r = await nodeHash(r, p);
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  if (sn !== 0n) return failed("the inclusion proof is too short");
  return equal(r, root) ? passed : failed("the inclusion proof leads to another root");
}

const EMPTY_ROOT = fromBase64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="); // SHA-256("")

/** RFC 9162 §2.1.4.2: does the tree (size2, root2) extend the tree (size1, root1)? A proof
 * from the empty tree proves nothing and is refused, as ledger/merkle.py refuses it. */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  // Roots are compared, not hashed: equal sizes with equal roots of any length pass, as the
  // transparency-dev vectors want; a root that is no hash matches no computed one anyway.
  const bytes = (x) => x instanceof Uint8Array;
  if (!bytes(root1) || !bytes(root2)) return failed("roots must be bytes");
  if (!proof.every(isHash)) return failed("every proof element must be a SHA-256 hash");
  const m = count(size1);
  const n = count(size2);
  if (m === null || n === null) return failed("tree sizes must be non-negative integers");
  if (m > n) return failed(`size ${size1} is after size ${size2}`);
  if (m === n) {
    if (proof.length) return failed("equal sizes need an empty proof");
    const same = equal(root1, root2) && (m !== 0n || equal(root1, EMPTY_ROOT));
    return same ? passed : failed("equal sizes but different roots");
  }
  if (m === 0n) return failed("a consistency proof from the empty tree proves nothing");
  if (!proof.length) return failed("empty consistency proof");
  // When size1 is a power of two, its root is the first node of the path: it is not sent.
  const path = (m & (m - 1n)) === 0n ? [root1, ...proof] : proof;
  let [fn, sn] = [m - 1n, n - 1n];
  while (fn & 1n) [fn, sn] = [fn >> 1n, sn >> 1n];
  let [fr, sr] = [path[0], path[0]];
  for (const c of path.slice(1)) {
    if (sn === 0n) return failed("the consistency proof is too long");
    if (fn & 1n || fn === sn) {
      [fr, sr] = [await nodeHash(c, fr), await nodeHash(c, sr)];
      while (!(fn & 1n) && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      sr = await nodeHash(sr, c);
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  if (sn !== 0n) return failed("the consistency proof is too short");
  if (!equal(fr, root1)) return failed("the consistency proof does not lead to the first root");
  if (!equal(sr, root2)) return failed("the consistency proof does not lead to the second root");
  return passed;
}

// ---------------------------------------------------------------- entries and evidence

/** One entry against /v1/proofs/inclusion's answer: the leaf's bytes hash to a leaf at
 * `index` of the tree the checkpoint signed (`noteText`, or else the answer's own). */
export async function verifyProofOf(leafBytes, index, proofJSON, noteText, key) {
  const cp = await verifyCheckpoint(noteText ?? proofJSON.checkpoint, key);
  if (!cp.ok) return failed(`checkpoint: ${cp.reason}`);
  const checkpoint = { origin: cp.origin, treeSize: cp.treeSize };
  const refuse = (reason) => ({ ...failed(reason), checkpoint });
  if (proofJSON.tree_size !== cp.treeSize) {
    return refuse(`the proof is for size ${proofJSON.tree_size}, the checkpoint ${cp.treeSize}`);
  }
  if (proofJSON.leaf_index !== index) return refuse(`the proof is of leaf ${proofJSON.leaf_index}`);
  const hash = await leafHash(leafBytes);
  if (proofJSON.leaf_hash !== undefined && proofJSON.leaf_hash !== toBase64(hash)) {
    return refuse("the proof is for another leaf hash than these bytes'");
  }
  const path = (proofJSON.inclusion_proof ?? []).map(fromBase64);
  return { ...(await verifyInclusion(hash, index, cp.treeSize, path, cp.rootHash)), checkpoint };
}

const isCount = (x) => Number.isSafeInteger(x) && x >= 0;
const hasVotes = ({ votes }) =>
  typeof votes === "object" && votes !== null && Object.values(votes).every(isCount);

/** The signed document of an evidence entry ({leaf_index, leaf, inclusion_proof}) once its
 * leaf is proven under the checkpoint: {kind, body}, or {what, reason} of the failure. */
async function provenDocument(entry, cp, what) {
  const bytes = fromBase64(entry.leaf);
  if (!bytes) return { what: "inclusion", reason: "the leaf is not base64" };
  const index = entry.leaf_index;
  const proof = Array.isArray(entry.inclusion_proof) ? entry.inclusion_proof.map(fromBase64) : [];
  const hash = await leafHash(bytes);
  const proven = await verifyInclusion(hash, index, cp.treeSize, proof, cp.rootHash);
  if (!proven.ok) return { what: "inclusion", reason: `leaf ${index}: ${proven.reason}` };
  try {
    // The bytes the log signed, read as they are (canonical JSON: docs/ledger.md, "The log").
    const { kind, body } = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (typeof body === "object" && body !== null) return { kind, body };
  } catch {
    // not UTF-8 JSON: said below
  }
  return { what, reason: `leaf ${index} is not a signed document` };
}

/** A form of the evidence: proven, and an official form of this contest and station. */
async function checkForm(form, evidence, cp) {
  const doc = await provenDocument(form, cp, "form");
  if (!doc.body) return doc;
  const { kind, body } = doc;
  const wrong = (reason) => ({ what: "form", reason: `leaf ${form.leaf_index} ${reason}` });
  if (kind !== "form") return wrong(`is a ${kind}, not a form`);
  if (body.contest !== evidence.contest) return wrong(`is a form of ${body.contest}`);
  if (body.station !== form.station) return wrong(`is the form of station ${body.station}`);
  if (body.source !== form.source) return wrong(`is ${body.source}'s form, not ${form.source}'s`);
  if (!OFFICIAL_SOURCES.has(body.source)) return wrong(`is ${body.source}'s, not an official form`);
  if (evidence.election !== undefined && body.election !== evidence.election) {
    return wrong(`is a form of election ${body.election}`);
  }
  const counted = hasVotes(body) && isCount(body.rejected) && isCount(body.polled);
  return counted ? doc : wrong("has no valid counts");
}

/** The returning officer's declaration, if the evidence gives one: proven, and of this
 * contest. Its numbers are returned for the page to show, not summed. */
async function checkDeclaration(declaration, evidence, cp) {
  const doc = await provenDocument(declaration, cp, "declaration");
  if (!doc.body) return doc;
  const { kind, body } = doc;
  const leaf = `leaf ${declaration.leaf_index}`;
  const wrong = (reason) => ({ what: "declaration", reason: `${leaf} ${reason}` });
  if (kind !== "declaration") return wrong(`is a ${kind}, not a declaration`);
  if (body.contest !== evidence.contest) return wrong(`declares ${body.contest}`);
  if (body.source !== "returning_officer") return wrong(`is ${body.source}'s, not official`);
  // A declaration may leave out rejected and polled (docs/formats.md, Form 47).
  const optional = (x) => x === undefined || isCount(x);
  const counted = hasVotes(body) && optional(body.rejected) && optional(body.polled);
  return counted ? doc : wrong("has no valid counts");
}

/** Everything behind a contest's computed result (GET .../contests/{code}/evidence): the
 * checkpoint, each form's inclusion under it, that each is an official form of the contest
 * and its station, and that the forms sum to the totals shown. Returns {ok, checked,
 * failures: [{what, station, reason}], sums, declared, checkpoint: {origin, treeSize}}, where
 * `what` is "checkpoint", "inclusion", "form", "totals" or "declaration". Only proven forms
 * are summed; `declared` holds the proven declaration's numbers, if the evidence has one. */
export async function verifyEvidence(evidence, key) {
  const report = { ok: false, checked: 0, failures: [], sums: null, declared: null };
  report.checkpoint = null; // {origin, treeSize}, once the checkpoint verifies
  const fail = (what, station, reason) => report.failures.push({ what, station, reason });
  const cp = await verifyCheckpoint(evidence.checkpoint, key);
  if (!cp.ok) {
    fail("checkpoint", null, cp.reason); // no root to prove anything against
    return report;
  }
  report.checkpoint = { origin: cp.origin, treeSize: cp.treeSize };
  if (evidence.tree_size !== cp.treeSize) {
    const sizes = `size ${evidence.tree_size}, its checkpoint at ${cp.treeSize}`;
    fail("checkpoint", null, `the page is at ${sizes}`);
  }
  const sums = { votes: {}, rejected: 0, polled: 0 };
  const stations = new Set();
  for (const form of evidence.forms ?? []) {
    report.checked += 1;
    const station = form.station ?? null;
    const checked = await checkForm(form, evidence, cp);
    if (!checked.body) {
      fail(checked.what, station, checked.reason);
    } else if (stations.has(station)) {
      fail("form", station, "a second form for this station would count it twice");
    } else {
      stations.add(station);
      for (const [candidate, n] of Object.entries(checked.body.votes)) {
        sums.votes[candidate] = (sums.votes[candidate] ?? 0) + n;
      }
      sums.rejected += checked.body.rejected;
      sums.polled += checked.body.polled;
    }
  }
  report.sums = sums;
  const compare = (field, sum, page) => {
    const says = `${field}: the proven forms sum to ${sum}, the page shows ${page}`;
    if (sum !== page) fail("totals", null, says);
  };
  const shown = { ...evidence.totals };
  for (const candidate of new Set([...Object.keys(sums.votes), ...Object.keys(shown)])) {
    compare(candidate, sums.votes[candidate] ?? 0, shown[candidate] ?? 0);
  }
  compare("rejected", sums.rejected, evidence.rejected);
  compare("polled", sums.polled, evidence.polled);
  if (evidence.declaration) {
    const declared = await checkDeclaration(evidence.declaration, evidence, cp);
    const { votes, rejected = null, polled = null } = declared.body ?? {};
    if (declared.body) report.declared = { votes, rejected, polled };
    else fail(declared.what, null, declared.reason);
  }
  report.ok = report.failures.length === 0;
  return report;
}
