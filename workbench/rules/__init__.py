"""The rules the settings configure, parsed and checked once when the settings load: the
strike ladder, welfare checks, retention, legal deadlines, the moderators' wellness, and
which webhook URLs may be called. Plain values only: the code that applies them lives in
``actions/`` and ``workbench/cases/``."""
