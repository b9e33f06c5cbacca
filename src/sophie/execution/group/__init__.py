"""A group of practices on one PostgreSQL ledger: guarded cycles, the job queue that runs them, their status."""
