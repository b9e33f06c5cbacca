"""The PostgreSQL ledger: many practices and many workers on one database (extra ``[postgres]``)."""
