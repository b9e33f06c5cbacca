"""Compiling checked expressions: closures per node, and one generated function per entity type."""
