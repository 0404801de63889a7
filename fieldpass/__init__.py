"""Fieldpass: offline-capable ticketing devices and the central server they reconcile with."""

__version__ = "0.1.0"
