"""Portal event data sets shared by the demo, the tests and the benchmarks.

They are written as portals send them (plain JSON documents), so every consumer exercises
the same validation path as real traffic: the two seed cases from the source articles
(``seed_cases``), a synthetic national campaign at any scale (``national``), and the
builders both are made of (``portal_events``).
"""
