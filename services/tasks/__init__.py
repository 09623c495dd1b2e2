"""Celery tasks of the services app: thin wrappers taking ids and calling actions."""
