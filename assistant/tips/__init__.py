"""Tips (DESIGN "Tips"): when a tip fires for a user, whether it may be shown now, and the
holdout that measures what tips change."""
