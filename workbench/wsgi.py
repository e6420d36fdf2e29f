"""WSGI entry point for any server: ``gunicorn workbench.wsgi:app``."""

from workbench.app import create_app

app = create_app()
