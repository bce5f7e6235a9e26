"""The database opener (SQLite by default, PostgreSQL by URL) and the one migration runner."""
