"""The online door: members at home file a claim, upload documents, follow a status link, do a video interview.

One concept a module:

* :mod:`.status` — the claim's states and moves, required documents, interview slots, home identities (pure);
* :mod:`.store` — the records it keeps, as a Protocol (``server/online_store.py`` implements it);
* :mod:`.base` — settings, state moves with history and listeners, limits per address;
* :mod:`.member` — the portal and the status link; :mod:`.backoffice` — validation and the outcome;
* :class:`OnlineClaims` — both sides in one object (what ``create_app`` builds).

Routes and events: ``docs/online-claims.md`` and ``docs/protocol.md``.
"""

from .backoffice import BackOffice, may_serve
from .base import OnlineSettings, token_hash
from .member import MemberSide
from .status import BENEFITS, HOME_BRANCH, REQUIRED_DOCUMENTS, ClaimError, home_device, is_home


class OnlineClaims(MemberSide, BackOffice):
    """The online claims service: the member's side and the back office's, on one store."""


__all__ = [
    "BENEFITS", "HOME_BRANCH", "REQUIRED_DOCUMENTS", "BackOffice", "ClaimError", "MemberSide", "OnlineClaims",
    "OnlineSettings", "home_device", "is_home", "may_serve", "token_hash",
]
