"""Demo data: a realistic, deterministic 湖南 trading world for ``trading demo``."""
