"""The Open Dental adapter: read-only SQL against the practice's MySQL/MariaDB database.

Install the driver with ``pip install 'sophie[opendental]'`` and run
``sophie run --adapter opendental --source mysql://user:password@host:3306/opendental``.
The mapping from Open Dental's tables to sophie's model is documented in ``docs/opendental.md``.
"""

from __future__ import annotations

from sophie.adapters.opendental.adapter import OpenDentalAdapter
from sophie.adapters.opendental.settings import Interpretation, OpenDentalSettings

__all__ = ["Interpretation", "OpenDentalAdapter", "OpenDentalSettings"]
