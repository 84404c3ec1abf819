"""``mckg ingest survey`` and ``mckg diff``: survey waves in, changes between waves out.

Both work on the store the reading commands use (``--store``, else the setting, else mckg's
persistent store), so what ``mckg ingest survey`` adds is what ``mckg query``, ``mckg diff``
and a restarted ``mckg serve`` see.
"""

from __future__ import annotations

from pathlib import Path

import click

from . import STORE_HELP, State, fail, main


def _writable(state: State, url: str):
    """The store at ``url`` holding the graph, open for writing.

    Provisioning hands out a persistent Oxigraph store read-only (servers may be reading it);
    an ingest reopens it read-write, which waits for no one: a server using the folder makes
    it fail with "in use", as ``mckg load`` does.
    """
    from ..store import StoreError, open_store

    store = state.store(url)
    if not store.read_only:
        return store
    store.close()
    try:
        return open_store(url, update_url=state.settings.update_url or None,
                          timeout=max(state.settings.query_timeout, 300.0))
    except StoreError as exc:
        fail(exc.message)


@main.group("ingest")
def ingest_group() -> None:
    """Add data from outside sources to the store (survey exports)."""


@ingest_group.command("survey")
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--wave", required=True, help="The wave the export answers: w1, w2 …")
@click.option("--mapping", "mapping_path", type=click.Path(path_type=Path), default=None,
              help="The mapping file (default: the shipped data/survey/mapping.toml).")
@click.option("--dry-run", is_flag=True, help="Check everything and say what would change; "
              "write nothing.")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def ingest_survey(state: State, export: Path, wave: str, mapping_path: Path | None,
                  dry_run: bool, store_option: str | None) -> None:
    """Ingest EXPORT, the partner survey's form export (CSV), as survey wave --wave.

    The export is read, every answer matched to the graph's controlled values and things,
    and the wave's graph checked with the SHACL shapes before the store is touched; then the
    wave's named graph ({base}graph/wave/ID) is replaced by it in one transaction. Any
    problem is reported with its row and column (exit 2) and the store stays as it was.
    """
    from ..query.service import QueryService
    from ..store import StoreError
    from ..survey.errors import SurveyError
    from ..survey.ingest import ingest
    from ..survey.mapping import load_mapping

    settings = state.settings
    try:
        mapping = load_mapping(mapping_path, base=settings.base)
    except SurveyError as exc:
        fail(exc.text())
    with _writable(state, state.store_url(store_option)) as store:
        service = QueryService.inline(settings, store)  # closing the store closes it
        try:
            report = ingest(store, service, settings.base, export, wave, mapping,
                            dry_run=dry_run)
            total = store.triple_count()
        except SurveyError as exc:
            fail(f"{len(exc.problems)} problem(s), nothing changed:\n{exc.text()}")
        except StoreError as exc:
            fail(exc.message)
    verb = "would replace" if dry_run else "replaced"
    if not report.triples_before:
        verb = "would add" if dry_run else "added"
    click.echo(f"{verb} <{report.graph}>: wave {report.wave}, {report.rows} row(s), "
               f"{report.facts} fact(s), {report.triples_after:,} triples "
               f"(was {report.triples_before:,})")
    for label, nodes in (("new", report.added), ("gone", report.removed),
                         ("changed", report.changed)):
        for node in nodes:
            click.echo(f"  {label}: {node}")
    if dry_run:
        click.echo("dry run: nothing written")
    else:
        click.echo(f"{store.url} now holds {total:,} triples")


@main.command("diff")
@click.option("--from", "from_wave", required=True, help="The earlier wave: w1, 1 or its IRI.")
@click.option("--to", "to_wave", required=True, help="The later wave: w2, 2 or its IRI.")
@click.option("--format", "out_format", default="table", show_default=True,
              type=click.Choice(["table", "csv", "turtle", "nt", "json-ld", "xml", "trig"]),
              help="A table for people, CSV, or the change set as RDF.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def diff_command(state: State, from_wave: str, to_wave: str, out_format: str,
                 output: Path | None, store_option: str | None) -> None:
    """What changed between two survey waves, per jurisdiction and dimension.

    Each changed cell is "added" (the earlier wave had no answer there), "removed" or
    "changed", with the values of both waves and the findings they come from. The
    comparison is the stored query queries/waves/wave-diff.rq, run on the store.
    """
    import sys

    from ..linked.runner import ServiceRunner
    from ..query.service import QueryService
    from ..rdf.files import serialize
    from ..rdf.formats import rdf_format
    from ..store import StoreError
    from ..survey import diff as waves
    from ..survey.errors import SurveyError

    base = state.settings.base
    with state.store(state.store_url(store_option)) as store:
        runner = ServiceRunner(QueryService.inline(state.settings, store), base)
        try:
            before = waves.resolve_wave(runner, from_wave)
            after = waves.resolve_wave(runner, to_wave)
            changes = waves.diff(runner, before, after)
            empty = [w for w in (before, after) if not waves.has_data(runner, w)]
        except SurveyError as exc:
            fail(exc.text())
        except StoreError as exc:
            fail(exc.message)
    for wave in empty:
        click.echo(f"note: no data for {wave.label} yet (ingest its export with mckg ingest "
                   f"survey FILE --wave {wave.id})", err=True)
    if out_format == "table":
        data = waves.to_table(changes, base).encode("utf-8")
    elif out_format == "csv":
        data = waves.to_csv(changes).encode("utf-8")
    else:
        data = serialize(waves.to_graph(changes, base, before, after), rdf_format(out_format))
    if output:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(changes)} changed cell(s))", err=True)
    else:
        sys.stdout.buffer.write(data)
