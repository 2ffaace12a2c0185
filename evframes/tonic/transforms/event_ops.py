"""Tonic transforms from events to events (Tonic 1.7 names, parameters and values)."""

__all__: list = []
