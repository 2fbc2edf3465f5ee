"""HTTP layer: thin routers, error mapping and request limits."""
