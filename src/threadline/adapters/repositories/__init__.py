"""Repositories: the only code that speaks SQL. One module per aggregate."""
