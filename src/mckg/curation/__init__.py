"""Curating the served graph over HTTP: tokens, SHACL-gated transactions and the audit trail.

Writes are off unless tokens are configured (``Settings.tokens``). A write goes through
:class:`~mckg.curation.curator.Curator`: the token is checked (:mod:`.tokens`), the writer
takes its turn (one at a time, a bounded queue), the update is applied to a copy of the
dataset and validated in a process that is killed at the time limit
(:mod:`.transaction`, :mod:`.worker`), and only a conforming change is committed through the
query service's one write path, together with its PROV-O record (:mod:`.audit`).
See docs/curation.md.
"""
