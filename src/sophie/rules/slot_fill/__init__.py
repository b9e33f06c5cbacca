"""Slot fill: ranking the patients who could take an opening, and putting them in evidence."""
