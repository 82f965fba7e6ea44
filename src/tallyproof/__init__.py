"""tallyproof: verifiable election results from polling-station forms to published standings."""

__version__ = "0.1.0"
