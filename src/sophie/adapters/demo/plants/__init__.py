"""Planted stalls and near-misses: the ground truth the default pack is tested against."""
