"""The ``mckg`` command line. Commands hold no RDF logic; they call the library and print.

Each command imports the parts of the library it uses when it runs (the web server, the
reasoner, the SHACL engine …), so that a warm ``mckg query`` or ``mckg --help`` does not pay
for loading what only another command needs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from rdflib import Graph

from .. import __version__
from ..build.graphs import ESCO_GRAPH, ESCO_SAMPLE_LAYER, LAYERS, KnowledgeGraph, build, graph_iri
from ..config import Settings, load_settings
from ..rdf.files import DataError
from ..rdf.formats import FORMATS, rdf_format
from ..store import Store, default_serve_store

#: ``--store`` of the commands that read the graph (serve and load have their own wording).
STORE_HELP = ("Run on this store: memory, oxigraph:PATH or sparql+http(s)://…, loaded with the "
              "graph first unless it holds it already (as mckg serve does). Default: the store "
              "setting (config, MCKG_STORE); without one, the persistent store mckg serve uses, "
              "so the graph is built once for every command.")

EXIT_VIOLATION = 1
EXIT_BAD_INPUT = 2


class State:
    """Settings shared by all sub-commands, and the graph built with rdflib for ``validate``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._kg: KnowledgeGraph | None = None

    def graph(self, *, reasoning: bool | None = None) -> KnowledgeGraph:
        if self._kg is None:
            try:
                self._kg = build(self.settings, reasoning=reasoning)
            except DataError as exc:
                fail(str(exc))
        return self._kg

    def store_url(self, option: str | None) -> str:
        """The store a command runs on: ``--store``, else the setting, else mckg's own.

        mckg's own is the persistent store ``mckg serve`` uses: the graph is built and
        reasoned once, and every later command (and server) reads it as it is.
        """
        return option or self.settings.store or default_serve_store()

    def store(self, url: str, *, reasoning: bool | None = None) -> Store:
        """Open ``url`` holding the graph, loading it first if needed — as ``mckg serve`` does.

        A persistent store whose marker matches is used at once (nothing is built); a memory
        store is built now (``reasoning`` overrides the setting for it alone: a persistent
        store keeps the inferences it was loaded with).
        """
        from ..store import StoreError
        from ..store.provision import provision

        settings = self.settings
        if reasoning is not None and url.strip() in ("memory", "memory:"):
            settings = settings.with_(reasoning=reasoning)
        try:
            store, report = provision(settings, url)
        except DataError as exc:
            fail(str(exc))
        except StoreError as exc:
            fail(exc.message)
        if report.rebuilt and store.kind != "memory":
            click.echo(f"mckg: loaded the graph into {store.url} ({report.reason}; "
                       f"{report.seconds:.1f} s)", err=True)
        return store


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``Error: message`` to stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mckg")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML file with settings (see README).")
@click.option("--base-iri", help="Base IRI for the project's IRIs (default https://w3id.org/mckg/).")
@click.option("--file", "extra_files", multiple=True, type=click.Path(path_type=Path),
              help="Extra RDF file to load (repeatable; TriG/N-Quads keep their named graphs).")
@click.option("--no-shipped", is_flag=True, help="Do not load the shipped ontology and data.")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None, base_iri: str | None,
         extra_files: tuple[Path, ...], no_shipped: bool) -> None:
    """mckg: a knowledge graph of European micro-credential policy."""
    try:
        settings = load_settings(config_file, base_iri=base_iri,
                                 extra_files=extra_files or None,
                                 include_shipped=False if no_shipped else None)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    ctx.obj = State(settings)


@main.command()
@click.option("--inference", type=click.Choice(["none", "rdfs", "owlrl", "all"]), default="all",
              show_default=True, help="Validate the asserted triples, with RDFS, with our OWL RL "
              "inferences, or each in turn.")
@click.pass_obj
def validate(state: State, inference: str) -> None:
    """Check ontology, data and shapes; exit 1 if a shape is violated or a literal is
    ill-typed (e.g. "abc"^^xsd:integer, reported with its file and line)."""
    from ..build.validation import validate as run
    from ..rdf.namespaces import rebase_prefixes

    kg = state.graph(reasoning=inference in ("owlrl", "all"))
    prefixes = sorted(rebase_prefixes(kg.base).items(), key=lambda kv: -len(kv[1]))

    def shorten(iri: str) -> str:
        for name, ns in prefixes:
            if iri.startswith(ns):
                return f"{name}:{iri[len(ns):]}"
        return iri

    modes = ["none", "rdfs", "owlrl"] if inference == "all" else [inference]
    ok = not kg.ill_typed.count  # data a store would keep, but not what the author meant
    if not ok:
        click.echo(f"Does not conform: {kg.ill_typed.summary()}.")
        click.echo("\n".join(f"  {line}" for line in kg.ill_typed.lines()))
    for mode in modes:
        report = run(kg, inference=mode)
        click.echo(report.text(shorten))
        ok = ok and report.conforms
    sys.exit(0 if ok else EXIT_VIOLATION)


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("build"), show_default=True, help="Output folder.")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def build_cmd(state: State, out_dir: Path, store_option: str | None) -> None:
    """Write the merged asserted graph, the inferred graph and the dataset with named graphs."""
    from ..dataset.export import export_graphs, store_graphs
    from ..store import StoreError

    base = state.settings.base
    outputs = {
        "mckg.ttl": ("turtle", None),
        "mckg-inferred.ttl": ("turtle", ["inferred"]),
        "mckg.trig": ("trig", [*LAYERS]),
        "mckg.nt": ("nt", None),
        "mckg.jsonld": ("json-ld", None),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with state.store(state.store_url(store_option), reasoning=True) as store:
        for name, (fmt_name, layers) in outputs.items():
            try:
                graphs = store_graphs(store, base, layers=layers)
                data = export_graphs(store, graphs, rdf_format(fmt_name), base=base).data
            except StoreError as exc:
                fail(exc.message)
            (out_dir / name).write_bytes(data)
            click.echo(f"wrote {out_dir / name} ({len(data):,} bytes)")


build_cmd.name = "build"


@main.command()
@click.option("--format", "fmt_name", type=click.Choice([f.name for f in FORMATS] + ["ntriples"]),
              default="turtle", show_default=True)
@click.option("--inferred/--no-inferred", default=False, show_default=True,
              help="Include the OWL RL inferences.")
@click.option("--layer", "layers", multiple=True,
              type=click.Choice(LAYERS),
              help="Export only these layers (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.option("--dumps", "dumps_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the published dumps (Turtle, N-Triples, JSON-LD, TriG; gzip where "
              "large) and their DCAT + VoID description (dataset.ttl) into this folder, as "
              "mckg serve publishes them.")
@click.option("--table", "table", type=click.Choice(["csv", "xlsx"]), default=None,
              help="Instead of RDF: the facts as a table, one row per fact (jurisdiction, "
              "dimension, value, unit, statement, source, section, footnote URL, wave, IRI), "
              "as /downloads/facts.csv and facts.xlsx give it.")
@click.option("--filter", "filters", multiple=True, metavar="NAME=VALUE",
              help="With --table: keep the facts matching (country=ES, topic=…, source=…, "
              "wave=1, dimension=…; repeatable, as /api/facts takes them).")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def export(state: State, fmt_name: str, inferred: bool, layers: tuple[str, ...],
           output: Path | None, dumps_dir: Path | None, table: str | None,
           filters: tuple[str, ...], store_option: str | None) -> None:
    """Serialize the graph as Turtle, JSON-LD, N-Triples, TriG, N-Quads or RDF/XML (or the
    facts as a CSV or XLSX table with --table).

    What the store holds is exported (``user`` covers every graph that is no layer's,
    including what mckg load added), read by the store's own engine.
    """
    from ..dataset.export import export_store
    from ..store import StoreError

    if filters and table is None:
        fail("--filter selects rows of --table; add --table csv or --table xlsx")
    chosen: dict[str, str] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            fail(f"--filter {item!r}: expected NAME=VALUE, e.g. country=ES")
        chosen[name.strip()] = value.strip()
    url = state.store_url(store_option)
    with state.store(url, reasoning=True) as store:
        try:
            if dumps_dir is not None:
                write_published_dumps(state.settings, store, dumps_dir)
                return
            if table is not None:
                data = fact_table(state.settings, store, table, chosen)
                if output:
                    output.write_bytes(data)
                    click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)
                else:
                    sys.stdout.buffer.write(data)
                return
            data = export_store(store, rdf_format(fmt_name), base=state.settings.base,
                                inferred=inferred, layers=list(layers) or None)
        except StoreError as exc:
            fail(exc.message)
    if output:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)
    else:
        sys.stdout.buffer.write(data)


def fact_table(settings: Settings, store: Store, kind: str, filters: dict[str, str]) -> bytes:
    """The facts as CSV or XLSX bytes, read as the pages read them (one table, one reader)."""
    from ..linked import facts
    from ..linked.index import GraphIndex
    from ..linked.runner import ServiceRunner
    from ..query.service import QueryService

    table = facts.FactTable(GraphIndex(ServiceRunner(QueryService.inline(settings, store),
                                                     settings.base)))
    try:
        rows = table.select(filters) if filters else table.rows()
    except facts.UnknownFilter as exc:
        fail(f"--filter {exc}")
    return facts.to_csv(rows).encode("utf-8") if kind == "csv" else facts.to_xlsx(rows)


def write_published_dumps(settings: Settings, store: Store, folder: Path) -> None:
    """Write the dumps ``mckg serve`` publishes, and their DCAT + VoID description."""
    from ..linked.site import LinkedData
    from ..query.service import QueryService

    site = LinkedData.for_service(QueryService.inline(settings, store), settings,
                                  dumps_dir=folder)
    for dump in site.dumps():
        click.echo(f"wrote {folder / dump.name} ({dump.size:,} bytes, {dump.triples:,} "
                   "triples)", err=True)
    description = site.description()
    (folder / "dataset.ttl").write_bytes(description.serialize(format="turtle", encoding="utf-8"))
    click.echo(f"wrote {folder / 'dataset.ttl'} (DCAT + VoID)", err=True)


@main.command()
@click.argument("query")
@click.option("--format", "out_format", type=click.Choice(["table", "csv", "tsv", "json", "xml"]),
              default="table", show_default=True)
@click.option("--inferred/--no-inferred", default=True, show_default=True,
              help="Query with the OWL RL inferences included.")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def query(state: State, query: str, out_format: str, inferred: bool,
          store_option: str | None) -> None:
    """Run QUERY: a .rq file, the name of a stored query (e.g. cq01) or SPARQL text.

    The query is checked and run exactly as the endpoint runs it, on the store's own engine
    (by default the persistent Oxigraph store, built once and reused). SELECT and ASK
    answers print as a table or as CSV, TSV, JSON or XML results; CONSTRUCT and DESCRIBE as
    Turtle, or RDF/XML with --format xml and JSON-LD with --format json.
    """
    from ..query.info import QueryError
    from ..query.service import query_store
    from ..query.stored import catalogue
    from ..query.table import table_from_json
    from ..store import StoreError

    looks_like_file = query.endswith(".rq") or ("\n" not in query and len(query) < 256
                                                 and Path(query).is_file())
    if looks_like_file:
        path = Path(query)
        if not path.is_file():
            fail(f"{query}: no such query file")
        text = path.read_text(encoding="utf-8")
    elif query in catalogue():
        text = catalogue()[query].text
    else:
        text = query
    results = {"csv": "text/csv", "tsv": "text/tab-separated-values",
               "xml": "application/sparql-results+xml"}.get(out_format,
                                                             "application/sparql-results+json")
    graphs = {"xml": "application/rdf+xml", "json": "application/ld+json"}.get(out_format,
                                                                               "text/turtle")
    with state.store(state.store_url(store_option), reasoning=inferred) as store:
        try:
            info, answer = query_store(store, state.settings, text, results=results,
                                       graphs=graphs, inferred=inferred)
        except QueryError as exc:
            fail(str(exc))
        except StoreError as exc:
            fail(exc.message)
    base = state.settings.base
    if out_format == "table" and info.form in ("SELECT", "ASK"):
        sys.stdout.write(table_from_json(answer.body, base))
    else:
        sys.stdout.buffer.write(answer.body)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def stats(state: State, as_json: bool, store_option: str | None) -> None:
    """Print counts: triples per graph, classes, properties, concepts, shapes, facts.

    What the store holds is counted by its own engine (loaded graphs included).
    """
    from ..build.validation import load_shapes
    from ..dataset.stats import compute
    from ..store import StoreError

    with state.store(state.store_url(store_option), reasoning=True) as store:
        try:
            result = compute(store, state.settings.base, load_shapes())
        except StoreError as exc:
            fail(exc.message)
    if as_json:
        payload = {k: (dict(v) if isinstance(v, dict) else v) for k, v in vars(result).items()}
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    click.echo("Triples per named graph:")
    for layer, n in result.triples.items():
        click.echo(f"  {layer:<14} {n:>7,}")
    click.echo(f"Ontology: {result.ontology_classes} classes, {result.ontology_properties} properties")
    click.echo(f"Controlled values: {result.concepts} SKOS concepts")
    click.echo(f"SHACL node shapes: {result.shapes}")
    click.echo(f"Fact nodes: {result.facts} ({result.facts_with_provenance} with full provenance)")
    click.echo("ESCO: " + ("; ".join(f"{title} <{graph}>" for graph, title in result.esco.items())
                           or "none"))
    click.echo("Instances by class:")
    for cls, n in result.instances.most_common():
        click.echo(f"  {cls:<40} {n:>5}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--store", "store_url", default=None,
              help="memory, oxigraph:PATH or sparql+http(s)://… (default: the store setting, "
              "else the persistent Oxigraph store mckg serve uses).")
@click.option("--graph", default=None,
              help="Named graph for the triples (default: {base}graph/loaded); TriG and "
              "N-Quads keep their own graphs.")
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Statements per batch: memory is bounded by one batch (default 50000).")
@click.option("--lang", "languages", default=None, metavar="TAGS",
              help="Keep only literals in these languages (comma-separated, e.g. en,es) and "
              "untagged ones: an ESCO release carries every label in 28 languages.")
@click.option("--keep-esco-sample", is_flag=True,
              help=f"Keep the bundled ESCO sample although this load fills the ESCO graph "
              f"<{ESCO_GRAPH}>; without it, the sample is left out in the same transaction, "
              "and stays out while that graph holds data.")
@click.pass_obj
def load(state: State, files: tuple[Path, ...], store_url: str | None, graph: str | None,
         batch: int | None, languages: str | None, keep_esco_sample: bool) -> None:
    """Stream large RDF files into a store, in one transaction, and report triples/s.

    N-Triples, N-Quads, Turtle and TriG (gzip too) are streamed; JSON-LD and RDF/XML are
    parsed whole. Either every file is loaded or, if one is malformed or the load is
    interrupted, none: the store stays as it was. A server reading the same Oxigraph store
    must be stopped first; it serves the new data from its next start, without rebuilding.

    A load that puts statements into the ESCO graph (a real ESCO release) drops the bundled
    ESCO sample in its own transaction, unless --keep-esco-sample.
    """
    import time

    from ..store import StoreError, default_serve_store, open_store
    from ..store.loading import DEFAULT_BATCH, load_files, parse_languages
    from ..store.provision import reserved_graphs

    settings = state.settings
    try:
        kept = parse_languages(languages) if languages is not None else None
    except StoreError as exc:
        fail(exc.message)
    url = store_url or settings.store or default_serve_store()
    target = graph or f"{settings.base}graph/loaded"
    reserved = reserved_graphs(settings.base)
    sample = str(graph_iri(settings.base, ESCO_SAMPLE_LAYER))
    supersedes = {} if keep_esco_sample else {ESCO_GRAPH: sample}
    tty = sys.stderr.isatty()
    bar = click.progressbar(length=1, label="loading", file=sys.stderr) if tty else None
    shown = {"bytes": 0}
    printed = {"at": 0.0}

    def progress(done: int, total: int, triples: int) -> None:
        if bar is not None:
            bar.length = max(total, 1)
            bar.update(done - shown["bytes"])
            shown["bytes"] = done
        elif time.monotonic() - printed["at"] >= 1.0:  # logs and pipes: a line a second at most
            printed["at"] = time.monotonic()
            share = f" ({100 * done / total:.0f}% of {total:,} bytes)" if total else ""
            click.echo(f"mckg load: {triples:,} triples{share}", err=True)

    try:
        with open_store(url, update_url=settings.update_url or None,
                        timeout=max(settings.query_timeout, 300.0)) as store:
            try:
                report = load_files(store, list(files), graph=target,
                                    batch=batch or DEFAULT_BATCH, progress=progress,
                                    reserved=reserved.__contains__, languages=kept,
                                    supersedes=supersedes)
            finally:
                if bar is not None:
                    bar.render_finish()
            total = store.triple_count()
    except DataError as exc:
        fail(str(exc))
    except StoreError as exc:
        fail(exc.message)
    graphs = ", ".join(f"<{g}> {n:,}" for g, n in sorted(report.graphs.items()))
    click.echo(f"loaded {report.triples:,} triples from {len(report.files)} file(s) into "
               f"{store.url} in {report.seconds:.1f} s ({report.rate:,.0f} triples/s); "
               f"{graphs}; the store now holds {total:,} triples")
    if report.languages is not None:
        click.echo(f"kept languages {', '.join(report.languages)}: left out {report.dropped:,} "
                   "statements with literals in other languages")
    for left, because in sorted(report.left_out.items()):
        held = report.left_out_triples.get(left, 0)
        click.echo(f"left out the bundled ESCO sample <{left}> ({held:,} triples"
                   f"{'' if held else ', not in the store'}): <{because}> now holds a real ESCO "
                   "release; it stays out while that graph holds data (--keep-esco-sample "
                   "keeps it)")
    if keep_esco_sample and report.graphs.get(ESCO_GRAPH, 0) > 0:
        click.echo(f"kept the bundled ESCO sample <{sample}> beside <{ESCO_GRAPH}> "
                   "(--keep-esco-sample)")
    if report.ill_typed.count:
        click.echo(f"warning: {report.ill_typed.summary()}:", err=True)
        click.echo("\n".join(f"  {line}" for line in report.ill_typed.lines()), err=True)
    if store.kind == "memory":
        click.echo("note: a memory store lives only as long as this command; use "
                   "--store oxigraph:PATH to keep the data", err=True)


@main.group("store")
def store_group() -> None:
    """Check a store, or repair a damaged Oxigraph store."""


@store_group.command("check")
@click.option("--store", "store_option", default=None,
              help="memory, oxigraph:PATH or sparql+http(s)://… (default: the store setting, "
              "else the persistent Oxigraph store mckg serve uses).")
@click.pass_obj
def store_check(state: State, store_option: str | None) -> None:
    """Open the store, read every statement once, count the graphs and compare them with its
    marker; exit 1 if it is damaged."""
    from ..store import StoreError
    from ..store.provision import check

    url = state.store_url(store_option)
    try:
        report = check(state.settings, url)
    except StoreError as exc:
        fail(exc.message)
    for problem in report.problems:
        click.echo(f"damaged: {problem}")
    if report.statements:
        click.echo(f"read {report.statements:,} statements")
    for graph, n in sorted(report.counts.items()):
        click.echo(f"  <{graph}> {n:,}")
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo(f"{url}: {'sound' if report.sound else 'damaged'}")
    sys.exit(0 if report.sound else EXIT_VIOLATION)


@store_group.command("repair")
@click.option("--store", "store_option", default=None,
              help="oxigraph:PATH (default: the store setting, else the persistent Oxigraph "
              "store mckg serve uses).")
@click.pass_obj
def store_repair(state: State, store_option: str | None) -> None:
    """Move a damaged Oxigraph store aside (kept as NAME.damaged-…), load the graph into a new
    one, as mckg serve with these options would, and load again the files mckg load added."""
    from ..store import StoreError
    from ..store.provision import check, repair

    url = state.store_url(store_option)
    try:
        if check(state.settings, url).sound:
            click.echo(f"{url}: sound; nothing to repair")
            return
        report = repair(state.settings, url)
    except DataError as exc:
        fail(str(exc))
    except StoreError as exc:
        fail(exc.message)
    click.echo(f"moved the damaged store to {report.moved_to} (delete it when done with it)")
    click.echo(f"loaded the graph into {url} ({report.provisioned.seconds:.1f} s)")
    for load in report.reloaded:
        click.echo(f"loaded again {load.triples:,} triples from {', '.join(load.files)}")
    for path in report.missing:
        click.echo(f"not loaded again, the file is gone: {path}", err=True)


@main.command()
@click.option("--write", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Rewrite the diagram block in this Markdown file (e.g. docs/model.md).")
def diagram(target: Path | None) -> None:
    """Print (or write into docs) the class diagram generated from the ontology and shapes."""
    from ..build.diagram import mermaid, replace_block
    from ..build.graphs import layer_files
    from ..build.validation import load_shapes
    from ..rdf.files import read_file

    ontology = Graph()
    for path in layer_files("ontology"):
        read_file(path, into=ontology)
    text = mermaid(ontology, load_shapes())
    if target is None:
        click.echo(text)
        return
    target.write_text(replace_block(target.read_text(encoding="utf-8"), text), encoding="utf-8")
    click.echo(f"wrote the diagram into {target}")


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None,
              help="Port to listen on (default 8000; 0 picks a free one and logs it).")
@click.option("--store", "store_url", default=None,
              help="memory, oxigraph:PATH or sparql+http(s)://… (default: a persistent Oxigraph "
              "store under the user data folder).")
@click.option("--file", "serve_files", multiple=True, type=click.Path(path_type=Path),
              help="RDF file to serve beside the shipped graph (repeatable; TriG/N-Quads keep "
              "their named graphs). With --no-shipped, only these.")
@click.option("--workers", type=int, default=None,
              help="Query worker processes (each can be stopped at the time limit).")
@click.option("--query-timeout", type=float, default=None,
              help="Seconds a query may run before it is stopped (default 30).")
@click.option("--result-limit", type=int, default=None,
              help="Most rows or triples in one answer (default 10000; the response says so "
              "when it cuts).")
@click.option("--reasoning/--no-reasoning", default=None,
              help="Materialize OWL 2 RL inferences into their own named graph (default on; "
              "off to serve files exactly as they are, e.g. conformance fixtures).")
@click.option("--public-url", default=None,
              help="The address clients reach the server at, e.g. https://mckg.example.org/ "
              "(default http://HOST:PORT/); descriptions and links are built from it.")
@click.pass_obj
def serve(state: State, host: str | None, port: int | None, store_url: str | None,
          serve_files: tuple[Path, ...], workers: int | None, query_timeout: float | None,
          result_limit: int | None, reasoning: bool | None, public_url: str | None) -> None:
    """Serve the graph over SPARQL 1.1 with a query page, using waitress.

    A persistent store that already holds this graph is served at once, without rebuilding.
    """
    import logging
    import signal

    from ..query.service import QueryService
    from ..query.workers import PoolError
    from ..store import StoreError, default_serve_store
    from ..web import create_app, public_root
    from ..web.assets import AssetError
    from ..web.serving import bound_port, make_server

    options: dict[str, object] = {
        "host": host, "port": port, "store": store_url, "query_workers": workers,
        "query_timeout": query_timeout, "result_limit": result_limit, "reasoning": reasoning,
        "public_url": public_url}
    changes = {k: v for k, v in options.items() if v is not None}
    if serve_files:
        changes["extra_files"] = (*state.settings.extra_files, *serve_files)
    settings = state.settings.with_(**changes)
    if not settings.store:
        settings = settings.with_(store=default_serve_store())
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        # Templates and static files are checked first, then the store is opened.
        app = create_app(settings)
    except (DataError, AssetError) as exc:
        fail(str(exc))
    except (StoreError, PoolError) as exc:
        fail(exc.message)
    except ValueError as exc:  # a malformed setting: public_url, client_limit_exempt
        fail(str(exc))
    service: QueryService = app.extensions["mckg.service"]
    try:
        # Threads wait for query workers; slow clients hold none (web.serving).
        server = make_server(app, settings, threads=max(8, 2 * settings.query_workers + 4))
    except BaseException:
        service.close()
        raise

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    address = public_root(settings.with_(public_url=""), bound_port(server))
    app.config["MCKG_PUBLIC_URL"] = public_root(settings, bound_port(server))
    if not settings.public_url and settings.host in ("0.0.0.0", "::", ""):
        logging.getLogger("mckg").warning(
            "listening on every interface: set public_url (--public-url) to the address "
            "clients use; until then the service description names %s", address)
    logging.getLogger("mckg").info(
        "serving %s on %s with %d query worker(s); time limit %g s, result limit %d",
        service.store.url, address, settings.query_workers if service.store.needs_workers else 0,
        settings.query_timeout, settings.result_limit)
    click.echo(f"mckg: serving {address}", err=True)
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.close()
        service.close()
from . import credentials, curation, survey  # noqa: E402,F401  (each registers its commands)
