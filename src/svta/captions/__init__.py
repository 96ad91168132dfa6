"""svta.captions."""
