"""Election forensics: station-level statistical tests, pure functions over numpy arrays.

Each test returns values and never prints; `service/forensics.py` turns them into findings."""
