"""Credential types, credentials, versions and their lifecycle."""
