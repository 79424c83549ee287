"""The status link's token is no longer stored: ``oc_claims.token`` goes, ``token_nonce`` comes.

From this revision a claim's token is HMAC-SHA256(link key, ``claim_id:nonce``)
(:func:`signaling.online.base.link_token`); the row keeps the token's SHA-256
(as before) and the nonce, and the key lives outside the database
(``<data>/online-link.key``). A dump or a backup of the records opens no claim.

Claims from revision 0003 keep working links (found by the hash as before),
but their token cannot be rebuilt: their nonce stays NULL, the token is
erased from every mail in the outbox (replaced by the ``{status_link}``
placeholder), and their mails not yet sent are marked ``failed`` with the
reason, for an operator to see (nobody ran 0003 in production).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: What stands for the link in a stored mail (``server/mailer.py`` puts the rebuilt link there when sending).
LINK_MARK = "{status_link}"


def upgrade() -> None:
    bind = op.get_bind()
    legacy = bind.execute(sa.text("SELECT claim_id, token FROM oc_claims")).all()
    for claim_id, token in legacy:
        bind.execute(sa.text("UPDATE oc_mail SET body = REPLACE(body, :token, :mark) WHERE claim_id = :claim"),
                     {"token": token, "mark": LINK_MARK, "claim": claim_id})
        bind.execute(sa.text("UPDATE oc_mail SET state = 'failed', last_error = :why "
                             "WHERE claim_id = :claim AND state = 'queued'"),
                     {"why": "claim from before revision 0004: its status link cannot be rebuilt", "claim": claim_id})
    with op.batch_alter_table("oc_claims") as batch:  # SQLite: the table is rebuilt without the column
        batch.add_column(sa.Column("token_nonce", sa.Text))
        batch.drop_column("token")


def downgrade() -> None:  # pragma: no cover - the service only moves forward
    raise NotImplementedError("the tokens are not stored any more; there is nothing to put back")
