"""Adapters: the database, the event stream, password hashing."""
