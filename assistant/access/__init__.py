"""Who is calling: tenants, API keys, user tokens (JWT), roles, and per-key / per-user rate
limits."""
