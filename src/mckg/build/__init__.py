"""Building the graph from the source files with rdflib: layers, OWL RL reasoning, SHACL
validation, provenance checks, the model diagram, and the cache of built graphs."""
