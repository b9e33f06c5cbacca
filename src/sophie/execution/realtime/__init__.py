"""Real time: ``sophie watch``, sweeps, incremental cycles, timers and the practice state they share."""
