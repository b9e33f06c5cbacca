"""Adapters: where snapshots come from (a PMS, a file, the demo generator)."""

from __future__ import annotations

from sophie.adapters.base import Adapter
from sophie.adapters.files import FilesAdapter, load_snapshot_file
from sophie.adapters.registry import DemoAdapter, adapter_names, create_adapter

__all__ = ["Adapter", "DemoAdapter", "FilesAdapter", "adapter_names", "create_adapter", "load_snapshot_file"]
