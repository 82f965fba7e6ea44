"""The HTTP API: FastAPI routes over the same service functions the CLI calls."""
