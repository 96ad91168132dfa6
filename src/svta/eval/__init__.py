"""svta.eval."""
