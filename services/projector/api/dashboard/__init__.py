"""The dashboard officials open in a browser: server-rendered pages with SVG charts, served
by the query API at ``/`` (see docs/dashboard.md)."""

from services.projector.api.dashboard.routes import dashboard_router

__all__ = ["dashboard_router"]
