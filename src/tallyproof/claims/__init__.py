"""News report text to claims: numbers as reports write them, the sentences worth reading,
rule-based extraction with a gazetteer, and linking to an election's structure. Pure text
in, values out (no model is downloaded; nothing here does I/O)."""
