"""``mckg check-credential``: a micro-credential against the EU and national rules of the graph.

Registered on the ``main`` group by the import at the bottom of :mod:`mckg.cli`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..credentials import CredentialError, ProfileError, Rules, check_credential, read_credential
from ..credentials.elm import elm_jsonld
from ..linked.runner import ServiceRunner
from ..query.service import QueryService
from . import STORE_HELP, State, fail, main


@main.command("check-credential")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--country", default=None, metavar="CODE",
              help="Also check this country's profile (ES …; 'all' for every profile). Default: "
              "the country that awards the credential, if the graph has a profile for it.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="How to print the verdicts.")
@click.option("--edc/--no-edc", default=None,
              help="Check against the official EDC shapes too (default: for RDF input only).")
@click.option("--elm-out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the credential as ELM JSON-LD (for a JSON description: its ELM form).")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def check_credential_command(state: State, file: Path, country: str | None, output: str,
                             edc: bool | None, elm_out: Path | None,
                             store_option: str | None) -> None:
    """Check a micro-credential against Annex I of the 2022 Council Recommendation, the
    national definitions the graph records (Spain's Plan Microcreds …) and the official EDC
    shapes.

    FILE is a Europass credential (ELM JSON-LD), Turtle or JSON-LD on ELM terms, or a JSON
    description keyed by element (examples/credentials/). Each problem names what is expected
    and the fact it comes from. Exit 0 when every profile conforms, 1 when one does not, 2 for
    a file that cannot be read. Nothing is fetched.
    """
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    settings = state.settings
    store = state.store(state.store_url(store_option))
    rules = Rules(ServiceRunner(QueryService.inline(settings, store), settings.base))
    try:
        credential = read_credential(data, str(file), rules)
        result = check_credential(credential, rules, country=country, edc=edc)
    except (CredentialError, ProfileError) as exc:
        fail(str(exc))
    if elm_out is not None:
        elm_out.write_text(elm_jsonld(credential.graph), encoding="utf-8")
    if output == "json":
        click.echo(json.dumps(result.as_json(), indent=1, ensure_ascii=False))
    else:
        click.echo(result.as_text())
    sys.exit(0 if result.conforms else 1)


@main.command("credential-profiles")
@click.option("--country", default=None, metavar="CODE",
              help="Only this profile (EU, ES …); default: every profile.")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def credential_profiles_command(state: State, country: str | None, store_option: str | None) -> None:
    """Print the SHACL profiles the checker generates from the graph's definitions (Turtle).

    One node shape per definition that states requirements, on ELM terms, each constraint
    carrying the fact it comes from (dct:source) and its message.
    """
    from rdflib import Graph

    settings = state.settings
    store = state.store(state.store_url(store_option))
    rules = Rules(ServiceRunner(QueryService.inline(settings, store), settings.base))
    chosen = [p for p in rules.profiles if country is None or (p.code or "").upper() == country.upper()]
    if not chosen:
        known = ", ".join(sorted({p.code for p in rules.profiles if p.code}))
        fail(f"no profile for {country!r}: the graph records requirements for {known}")
    shapes = Graph()
    for name, namespace in (("sh", "http://www.w3.org/ns/shacl#"), ("mckg", "https://w3id.org/mckg/def#"),
                            ("elm", "http://data.europa.eu/snb/model/elm/"),
                            ("cred", "https://www.w3.org/2018/credentials#"),
                            ("dct", "http://purl.org/dc/terms/")):
        shapes.bind(name, namespace)
    for profile in chosen:
        shapes += rules.shapes(profile)
    click.echo(shapes.serialize(format="turtle"))
