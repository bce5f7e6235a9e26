"""Learnloop: an AI customer-education assistant.

The public surface of the service package: settings, the retrieval service and the app factory.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
