"""mckg: a linked-data knowledge graph of European micro-credential policy."""

__version__ = "0.1.0"
