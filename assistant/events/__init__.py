"""Engagement events: their schema and validation, the append-only log, and file import."""
