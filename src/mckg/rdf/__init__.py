"""RDF itself: the table of formats, reading files safely, namespaces, term conversion."""
