"""Portal views of the services app, one module per feature."""
