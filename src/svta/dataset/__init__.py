"""svta.dataset."""
