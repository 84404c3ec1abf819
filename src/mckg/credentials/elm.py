"""A credential's graph written as ELM JSON-LD, in the form Europass credentials take.

The document names the two contexts Europass credentials name (Verifiable Credentials v1 and
ELM's EDC profile), so it reads back offline with :mod:`mckg.rdf.files` — and with any JSON-LD
processor that has them — to the same graph. Compaction uses the EDC profile's own context
(from the shipped copy); the result is checked by reading it back, and if the VC context would
change a term's meaning the inline context is kept instead of the two addresses.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from rdflib import Graph
from rdflib.compare import isomorphic

from ..rdf.files import KNOWN_CONTEXTS, local_documents, parse_bytes
from ..rdf.formats import rdf_format_for_suffix

VC_CONTEXT = "https://www.w3.org/2018/credentials/v1"
EDC_CONTEXT = "http://data.europa.eu/snb/model/context/edc-ap"


def elm_jsonld(graph: Graph) -> str:
    """``graph`` as ELM JSON-LD text, with the Europass contexts by address when they read
    back to the same graph (else with the EDC context inline)."""
    assert VC_CONTEXT in KNOWN_CONTEXTS and EDC_CONTEXT in KNOWN_CONTEXTS
    context = copy.deepcopy(local_documents(EDC_CONTEXT)["@context"])
    compacted: dict[str, Any] = json.loads(graph.serialize(format="json-ld", context=context,
                                                           auto_compact=True))
    by_address = dict(compacted, **{"@context": [VC_CONTEXT, EDC_CONTEXT]})
    text = json.dumps(by_address, indent=1, ensure_ascii=False)
    fmt = rdf_format_for_suffix(".jsonld")
    assert fmt is not None
    again = parse_bytes(text.encode("utf-8"), fmt, source="ELM out", into=Graph())
    if isomorphic(again, graph):  # type: ignore[arg-type]
        return text + "\n"
    return json.dumps(compacted, indent=1, ensure_ascii=False) + "\n"
