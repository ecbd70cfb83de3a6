"""Domain rules and processes. Never imports Strawberry; talks to the database via models."""
