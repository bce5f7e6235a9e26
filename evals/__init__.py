"""The eval harness: question sets, metrics and reports for retrieval (and later answers)."""

__all__: list[str] = []
