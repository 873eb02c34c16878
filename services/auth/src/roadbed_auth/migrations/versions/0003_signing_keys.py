"""Signing keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 03:32:03.246927
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("private_key_nonce", sa.LargeBinary(), nullable=True),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activate_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drop_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state <> 'retired' OR drop_after IS NOT NULL",
            name=op.f("ck_signing_keys_retired_drop_after"),
        ),
        sa.CheckConstraint(
            "state = 'revoked' OR (private_key_ciphertext IS NOT NULL AND private_key_nonce IS NOT NULL)",
            name=op.f("ck_signing_keys_private_key_present"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'active', 'retired', 'revoked')",
            name=op.f("ck_signing_keys_state"),
        ),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.create_index(
            "uq_signing_keys_one_active_per_algorithm",
            ["algorithm"],
            unique=True,
            postgresql_where=sa.text("state = 'active'"),
            sqlite_where=sa.text("state = 'active'"),
        )
        batch_op.create_index(
            "uq_signing_keys_one_pending_per_algorithm",
            ["algorithm"],
            unique=True,
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )


def downgrade() -> None:

    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_signing_keys_one_pending_per_algorithm",
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )
        batch_op.drop_index(
            "uq_signing_keys_one_active_per_algorithm",
            postgresql_where=sa.text("state = 'active'"),
            sqlite_where=sa.text("state = 'active'"),
        )

    op.drop_table("signing_keys")
