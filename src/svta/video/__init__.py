"""svta.video."""
