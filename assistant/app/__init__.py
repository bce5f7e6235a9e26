"""The HTTP service: the application factory, dependencies, and one router per resource."""
