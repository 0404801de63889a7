"""Alembic migrations of the server schema, shipped inside the package."""
