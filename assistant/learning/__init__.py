"""Learning paths and next steps per user: the rules (stages, step completion, skills) and
the service that reads events and the catalog to apply them."""
