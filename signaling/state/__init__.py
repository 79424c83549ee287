"""The hub's state behind one interface: :class:`State` (base) and its in-memory implementation."""

from .base import AgentRecord, State
from .memory import MemoryState

__all__ = ["AgentRecord", "MemoryState", "State"]
