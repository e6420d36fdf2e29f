"""Helpers the tests share: plain functions, classes and constants, never fixtures.

Fixtures live in the ``conftest.py`` files; a test imports what it needs from here,
never from a ``conftest.py``.
"""
