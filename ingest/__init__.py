"""Ingestion: loaders per format, MDX/HTML cleaning, heading-aware chunking and the sync."""

__all__: list[str] = []
