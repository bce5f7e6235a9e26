"""Ingestion: a loader per format (Markdown/MDX with MyST and Obsidian syntax,
reStructuredText/Sphinx, plain text, HTML, Zendesk exports, learning paths), heading-aware
chunking and the sync."""

__all__: list[str] = []
