"""The independent auditor: re-verifies a public bundle from scratch.

It shares no code with ingest beyond the pure pieces of `tallyproof.ledger` (canonical JSON,
Merkle hashing and proofs, signed-note parsing): every rule, the replay of the log and the
re-tally are written again here, so a bug in ingest cannot vouch for itself."""
