"""The public bundle and the forensics report: what tallyproof writes for others to read."""
