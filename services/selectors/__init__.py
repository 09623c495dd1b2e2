"""Read-only queries of the services app, one module per feature."""
