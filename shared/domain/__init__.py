"""The pure domain core: rules for initiatives, the union hierarchy, phases and targets.

Nothing here does I/O or reads a clock: callers pass facts, instants and ids in, so every
rule can be replayed from the event store and tested exhaustively.
"""
