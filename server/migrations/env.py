"""Alembic's entry point: run the revisions on the connection :func:`server.migrations.upgrade` passes."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
