"""The query API: read-only HTTP access to the projector's read models, scoped by token."""
