"""Persistence: SQLAlchemy models, sessions, unit of work."""
