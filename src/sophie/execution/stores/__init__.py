"""Where tasks live: the Ledger protocol, its stores, the audit trail, the outbox and the task cache."""
