"""Account health: scoring rules and signals, the recompute service and daily snapshots."""
