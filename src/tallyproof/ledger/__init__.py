"""Canonical encoding, hashes, signatures, Merkle proofs and checkpoints. Pure, no database."""
