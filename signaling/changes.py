"""What a command changed, so that each screen concerned is told once (:mod:`signaling.notifier`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Changes:
    """The result of a hub command: which screens' states may have changed.

    ``sessions``: session ids whose booth screen changed; ``rooms``: agent ids
    whose room changed (routing and console); ``consoles``: agent ids whose
    console changed but not its routing; ``branches``: branch ids whose
    officers' board changed; ``queue``: queue order or waits changed (every
    waiting booth).

    There is no "the transfer targets changed": every assignment changes them,
    and telling every online console of it cost one ``room.state`` per console
    per assignment. A console asks for them when its transfer dialog opens
    (``transfer.targets``).
    """

    sessions: set[str] = field(default_factory=set)
    rooms: set[str] = field(default_factory=set)
    consoles: set[str] = field(default_factory=set)
    branches: set[str] = field(default_factory=set)
    queue: bool = False

    def __bool__(self) -> bool:
        return bool(self.sessions or self.rooms or self.consoles or self.branches or self.queue)
