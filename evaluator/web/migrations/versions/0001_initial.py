"""The review desk's first schema: interviews, recordings, drafts, review states, finals and revisions, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(300), nullable=False, server_default=""),
        sa.Column("candidate", sa.String(300), nullable=False, server_default=""),
        sa.Column("interviewers", sa.String(500), nullable=False, server_default=""),
        sa.Column("guide", sa.String(500), nullable=False, server_default=""),
        sa.Column("stage_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False, server_default=""),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("original_name", sa.String(300), nullable=False, server_default=""),
        sa.Column("size_bytes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sha256", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_recordings_interview_id", "recordings", ["interview_id"])
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(300), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_drafts_interview_id", "drafts", ["interview_id"])
    op.create_table(
        "review_states",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reviewer", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("draft_id", "reviewer", name="uq_review_state_reviewer"),
    )
    op.create_index("ix_review_states_draft_id", "review_states", ["draft_id"])
    op.create_table(
        "finals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reviewer", sa.String(300), nullable=False),
        sa.Column("file_name", sa.String(400), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("draft_id", "reviewer", name="uq_final_reviewer"),
    )
    op.create_index("ix_finals_draft_id", "finals", ["draft_id"])
    op.create_table(
        "final_revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("final_id", sa.Integer, sa.ForeignKey("finals.id", ondelete="CASCADE"), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("reviewer", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("final_id", "revision", name="uq_final_revision"),
    )
    op.create_index("ix_final_revisions_final_id", "final_revisions", ["final_id"])
    op.create_index("ix_final_revisions_sha256", "final_revisions", ["sha256"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False, server_default="evaluate"),
        sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("progress", sa.Float, nullable=False, server_default="0"),
        sa.Column("message", sa.String(500), nullable=False, server_default=""),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_by", sa.String(300), nullable=False, server_default=""),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=True),
        sa.Column("finished_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_jobs_interview_id", "jobs", ["interview_id"])


def downgrade() -> None:
    for table in ("jobs", "final_revisions", "finals", "review_states", "drafts", "recordings", "interviews"):
        op.drop_table(table)
