"""The indexer's exceptions: one base class, one subclass per kind of failure."""

from __future__ import annotations


class IndexerError(Exception):
    """Base class of every error the indexer raises on purpose."""


class SettingsError(IndexerError, ValueError):
    """An environment variable is missing or wrong; the message names it and says what would be right."""


class RecordError(IndexerError, ValueError):
    """A stream record (or item) cannot be turned into a change: a permanent error for that record."""


class HookError(IndexerError):
    """The user's document hook raised or returned something that is not a JSON object."""


class IndexSetupError(IndexerError):
    """The index or its alias cannot be created or is in a state the indexer will not guess about."""
