"""The one exception the local stack raises for problems a user can fix (printed without a traceback)."""

from __future__ import annotations


class StackError(RuntimeError):
    """Something the user can act on: a busy port, a missing tool, a service that did not start."""
