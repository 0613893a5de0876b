"""dashapp."""
