"""covplan."""
