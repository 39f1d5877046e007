"""The review desk: `interview-eval serve`, a local web app where people review drafts with the recording at hand.

- `db`: the tables (SQLAlchemy 2 ORM), the engine (SQLite in the workspace, or any SQLAlchemy URL) and the
  Alembic migrations that create and upgrade them;
- `store`: `DbStore`, the database `ReviewStore` the pipeline's use cases run against;
- `transfer`: lossless import and export of the JSON interchange files;
- `jobs`: transcription and evaluation as background jobs with progress in the database;
- `app`: the FastAPI app (server-rendered Jinja2 templates, a little vanilla JS, no network).

Needs the `web` extra: `pip install 'interview-eval[web]'`.
"""
