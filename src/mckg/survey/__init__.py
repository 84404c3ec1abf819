"""Survey waves: a partner survey's form export in, one named graph per wave, changes out.

The MCE partner survey is repeated (wave 1 in December 2023, a follow-up a year later) so that
progress can be tracked. Its form exports a CSV with one row per institution; this package maps
such an export to mckg's findings (:mod:`.mapping`, :mod:`.matching`, :mod:`.reader`), checks
and stores it as its own named graph (:mod:`.ingest`), and compares two waves (:mod:`.diff`).
Everything it asks of the graph goes through the query service, by stored queries in
``queries/waves/``.
"""
