"""Use cases. The only code that commits."""
