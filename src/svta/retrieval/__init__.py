"""svta.retrieval."""
