"""SMS and RCS identities in E.164, as identities are now stored and looked up

An address stored as typed before (`+1-555-010-0000`) would no longer be found by its
customer's texts or an upload, and the next one would make a second customer. Each is
rewritten when, without its punctuation, it is an E.164 number that no other identity
holds. The rest stay as they were: a number without its country code cannot be guessed,
and two identities that are the same number belong to customers an admin should merge.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen copies of core.customers' rules at this revision: a migration must not change
# when the application's rules do.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PUNCTUATION = re.compile(r"[\s().\-/]")

_identities = sa.table("customer_identities", sa.column("channel"), sa.column("address"))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_identities.c.channel, _identities.c.address).where(
            _identities.c.channel.in_(("sms", "rcs"))
        )
    ).all()
    taken = {(r.channel, r.address) for r in rows}
    for channel, address in sorted((r.channel, r.address) for r in rows):
        number = _PUNCTUATION.sub("", address)
        if number == address or not _E164.fullmatch(number) or (channel, number) in taken:
            continue
        bind.execute(
            _identities.update()
            .where(_identities.c.channel == channel, _identities.c.address == address)
            .values(address=number)
        )
        taken.discard((channel, address))
        taken.add((channel, number))


def downgrade() -> None:
    # The typed forms are not kept; the E.164 ones were valid addresses before too.
    pass
