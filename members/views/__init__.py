"""Portal views of the members app, one module per feature."""
