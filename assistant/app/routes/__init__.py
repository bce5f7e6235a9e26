"""One router per resource. Routers import services and dependencies, never each other."""
