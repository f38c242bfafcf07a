"""A local Tradovate server (REST + trading and market-data websockets) for trying and testing."""
