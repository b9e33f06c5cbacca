"""The expression language: syntax, IR, types, checker, functions, interpreter, templates, durations.

Compilation to Python closures and generated code lives in :mod:`~sophie.rules.language.compilation`.
"""
