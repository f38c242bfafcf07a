"""The benchmark suite: ``python -m bench`` (or ``tradovate-api bench``). See
``docs/performance.md`` for what is measured and how to read the table."""
