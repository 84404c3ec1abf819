"""Linked data: what a person or a crawler gets when they follow one of our IRIs.

The web layer only speaks HTTP; what a page or document *says* is built here, as a library that
runs the same on an rdflib graph (tests, the CLI) and on the served store (through the query
service, so the time limit and the store's engine apply):

============================  ==================================================================
:mod:`.runner`                run the stored queries of ``queries/linked`` and ``queries/comparison``
:mod:`.iris`                  map IRIs under the base to paths on the server, and back
:mod:`.index`                 labels, types, provenance and conflicts, read once per server
:mod:`.describe`              one resource: its triples, incoming links, facts, conflicts, alignments
:mod:`.search`                full-text search (SQLite FTS5) with filters
:mod:`.compare`               the country comparison table (and its CSV and XLSX)
:mod:`.grades`                yes / partly / planned / no: a comparison answer in a symbol and a word
:mod:`.geomap`                the map of Europe coloured by one comparison column (inline SVG)
:mod:`.reading`               a resource page in reading order: summary, facts by section, citation
:mod:`.cite`                  how to cite the report, the dataset, a page and a fact
:mod:`.facts`                 the facts as one table (CSV, XLSX, plain JSON)
:mod:`.sheets`                XLSX workbooks
:mod:`.ontology`              documentation of the ontology, generated from the ontology itself
:mod:`.context`               the published JSON-LD context and JSON-LD documents that use it
:mod:`.dumps`                 the whole dataset as files (Turtle, N-Triples, JSON-LD, TriG, gzip)
:mod:`.catalog`               the DCAT + VoID description of the dataset and its DCAT-AP check
:mod:`.site`                  everything above, held once per served store
============================  ==================================================================
"""
