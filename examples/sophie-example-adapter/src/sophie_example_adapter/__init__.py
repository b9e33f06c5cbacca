"""An example sophie plugin for the fictional Acme PMS: an adapter, rule functions and a pack."""

from __future__ import annotations

from sophie_example_adapter.adapter import SAMPLE_EXPORT, AcmeAdapter
from sophie_example_adapter.functions import lifetime_value

__all__ = ["SAMPLE_EXPORT", "AcmeAdapter", "lifetime_value"]
