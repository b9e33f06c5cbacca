"""The demo adapter: a deterministic synthetic practice with planted stalls, and its events."""
