"""The running service: settings, database, authentication, the ASGI app and the CLI."""
