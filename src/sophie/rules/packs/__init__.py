"""Rule packs: positioned safe YAML, the pack schema, loading, params, pack tests and docs.

The built-in packs ship as YAML in ``builtin/``.
"""
