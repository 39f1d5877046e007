"""The team's interview guides, kept in the database (shared by every server of a team), never overwritten.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guides",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("guide_id", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False, server_default=""),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("guide_id", "version", name="uq_guide_version"),
    )


def downgrade() -> None:
    op.drop_table("guides")
