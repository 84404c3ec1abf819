"""Checking and running SPARQL: the query service, the checks before any engine runs, the
worker processes that enforce the time limit, the stored queries, and text tables."""
