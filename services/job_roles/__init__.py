"""Job roles: their credential requirements, who holds them, and compliance."""
