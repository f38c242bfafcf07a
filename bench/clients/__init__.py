"""The benchmark's clients, each a program of its own (``python -m bench.clients.<name>``):
``full`` (the framework), ``bare`` (same stack, decode + reply only) and ``naive``
(websockets + stdlib json + the default asyncio loop)."""
