"""LPMS: lean production management (plan management and process management)."""

__version__ = "0.1.0"
