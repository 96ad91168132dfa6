"""svta.search."""
