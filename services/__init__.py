"""The deployable services (ingest, projector, notifier) and the command line that runs them."""
