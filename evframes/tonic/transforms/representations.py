"""Tonic transforms from events to representations (Tonic 1.7 names, parameters and values)."""

__all__: list = []
