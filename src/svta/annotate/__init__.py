"""svta.annotate."""
