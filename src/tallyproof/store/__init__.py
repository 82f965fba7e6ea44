"""Persistence behind one small interface: SQLite (embedded) or PostgreSQL, append-only."""
