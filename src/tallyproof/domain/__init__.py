"""Election knowledge as pure values: structure, result forms, rules, tabulation, findings."""
