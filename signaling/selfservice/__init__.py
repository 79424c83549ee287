"""Self-service at the booth: the claim form filled together, documents, consent, recording, the claim file.

One concept a module:

* :mod:`.service` — :class:`SelfService`, the parts wired together (what ``create_app`` builds);
* :mod:`.context` — the hub as self-service sees it (:class:`HubContext`) and :class:`Settings`;
* :mod:`.store` — the records it keeps, as a Protocol (``server/selfservice_store.py`` implements it);
* :mod:`.forms`, :mod:`.documents` (+ :mod:`.images`), :mod:`.consent`, :mod:`.recording`,
  :mod:`.claims`, :mod:`.retention` — one part each;
* :mod:`.files` — file I/O and hashing, in worker threads.

Protocol: ``docs/protocol.md`` ("Self-service"); forms, files and retention:
``docs/self-service.md``.
"""

from .claims import qr_data_uri
from .context import LIVE, HubContext, Settings
from .documents import DOCUMENT_KINDS, UploadError
from .images import image_info
from .service import SelfService
from .store import Store

__all__ = [
    "DOCUMENT_KINDS", "LIVE", "HubContext", "SelfService", "Settings", "Store", "UploadError", "image_info", "qr_data_uri",
]
