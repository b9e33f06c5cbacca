"""The demo's simulated weeks: the loop, and the work simulated people do in it."""
