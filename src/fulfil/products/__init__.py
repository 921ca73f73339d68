"""Products: the catalogue itself."""
