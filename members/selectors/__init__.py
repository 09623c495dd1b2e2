"""Read-only querysets of the members app, one module per feature."""
