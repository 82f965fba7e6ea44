"""The sample elections shipped with tallyproof, built from the seed news reports."""
