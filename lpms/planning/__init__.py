"""Pure planning core: snapshot in, plan out. No database, no web."""
