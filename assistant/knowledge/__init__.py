"""What a help center knows and how it is found: documents and chunks, the catalog, the
vector store, the trust filter for served text, off-topic examples and hybrid retrieval."""
