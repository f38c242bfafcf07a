"""Research at scale: real exchange data files (Databento DBN) turned into recordings the
replay runs, and parameter sweeps of replays spread over a Dask cluster.

It sits above :mod:`tradovate_api.replay` (every backtest here is a replay, so a sweep's run
and a ``tradovate-api replay`` of the same data and parameters make the same report) and
needs the optional ``research`` extra (databento-dbn, dask[distributed]). Nothing here is
imported by the trading path; the modules importing the extra import it inside functions, so
``import tradovate_api.research`` costs nothing without it (:mod:`.extra` says what to
install).
"""
