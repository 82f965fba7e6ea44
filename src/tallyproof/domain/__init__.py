"""Election knowledge as pure values: structure, result forms, rules, consolidation, findings."""
