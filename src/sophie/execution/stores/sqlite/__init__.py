"""The SQLite ledger: schema, migrations and the store itself."""
