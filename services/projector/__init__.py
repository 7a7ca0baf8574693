"""Projector: builds read models of progress per unit and phase from the event stream."""
