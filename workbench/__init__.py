"""HARMONI's trust-and-safety workbench."""

from workbench.app import create_app

__all__ = ["create_app"]
