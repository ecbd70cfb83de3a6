"""Thin GraphQL entry points per domain: parse input, call a service, map the result."""
