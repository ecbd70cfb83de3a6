"""Media files of credential versions: detection, storage, staging, signed links."""
