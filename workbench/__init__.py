"""HARMONI's trust-and-safety workbench. The app factory is ``workbench.app.create_app``."""
