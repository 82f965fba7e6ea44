"""Use cases, each one database transaction: import structure, register keys, submit forms,
declare results, order status changes, and the read side (results, standings, findings)."""
