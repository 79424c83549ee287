"""Which booths a branch has, and its name: read from the accounts once, kept until they change.

Every change to a session tells its branch's security officers their board
(``branch.state``), and the board names the branch and lists its booths:
two reads of the accounts per change, the same answer all day. The
:class:`Directory` keeps them; :meth:`Directory.forget` drops them when the
accounts change: the access watcher calls it when the records' ``directory``
counter moves, which :class:`server.accounts.Accounts` bumps when a branch
or a booth is added or revoked, by this process or any other (within one
``Config.access_check_seconds``), and a revocation this process handles
calls it at once. A branch name is not kept while the
records cannot be read (the board then shows the branch's id).
"""

from __future__ import annotations

from ..core.errors import RecordsUnavailable
from ..core.vocabulary import KioskIdentity
from ..ports import Records, Settings


class Directory:
    """Branches' booths and names, cached between changes of the accounts."""

    def __init__(self, config: Settings, storage: Records) -> None:
        self._config = config
        self._storage = storage
        self._kiosks: dict[str, list[KioskIdentity]] = {}
        self._names: dict[str, str] = {}

    def kiosks(self, branch: str) -> list[KioskIdentity]:
        """The branch's booths (from ``--tokens`` and the accounts), by booth number."""
        found = self._kiosks.get(branch)
        if found is None:
            kiosks = {k.kiosk_id: k for k in self._config.kiosk_tokens.values() if k.branch == branch}
            kiosks.update({k.kiosk_id: k for k in self._storage.accounts.kiosks(branch)})
            found = self._kiosks[branch] = sorted(kiosks.values(), key=lambda k: (k.booth, k.kiosk_id))
        return list(found)

    def name(self, branch: str) -> str:
        """The branch's name; its id when it has none or the records are away."""
        found = self._names.get(branch)
        if found is None:
            try:
                found = self._names[branch] = self._storage.accounts.branch_name(branch)
            except RecordsUnavailable:
                return branch
        return found

    def forget(self) -> None:
        """The accounts changed: read them again on next use."""
        self._kiosks.clear()
        self._names.clear()
