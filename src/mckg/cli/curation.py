"""``mckg token new``, ``mckg history`` and ``mckg revert``: curation from the command line.

``history`` and ``revert`` work on a running server (``--endpoint URL``: the audit trail from
``/curation``, a revert posted with a token) or on a store no server is using (``--store``:
the operator, trusted, reverts as ``cli:$USER``). Either way a revert is a write like any
other: validated with the shapes and recorded in the audit trail.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from . import STORE_HELP, State, fail, main


@main.group("token")
def token_group() -> None:
    """Bearer tokens for curation over HTTP."""


@token_group.command("new")
@click.argument("name")
@click.option("--graph", "graphs", multiple=True, required=True,
              help="A graph IRI the token may write, or a prefix ending in * (repeatable). The "
              "shipped layers are writable only when named exactly.")
def token_new(name: str, graphs: tuple[str, ...]) -> None:
    """Make a token called NAME: print it once, and the settings that accept it.

    Only the digest goes into the configuration; keep the token itself secret.
    """
    from ..curation.tokens import hash_token, new_token

    secret = new_token()
    digest = hash_token(secret)
    click.echo(f"token (shown once; give it to {name}): {secret}", err=True)
    listed = ", ".join(json.dumps(g) for g in graphs)
    click.echo(f"[mckg.tokens.{json.dumps(name) if not name.isidentifier() else name}]\n"
               f"sha256 = \"{digest.split(':', 1)[1]}\"\ngraphs = [{listed}]")


def _fetch_history(endpoint: str) -> list[dict[str, str]]:
    import requests

    url = endpoint.rstrip("/") + "/curation"
    try:
        response = requests.get(url, headers={"Accept": "application/json"}, timeout=60)
    except requests.RequestException as exc:
        fail(f"cannot reach {url}: {exc}")
    if response.status_code != 200:
        fail(f"{url} answered {response.status_code}: {response.text.strip()[:300]}")
    rows: list[dict[str, str]] = response.json()["writes"]
    return rows


def _store_history(state: State, url: str) -> list[dict[str, str]]:
    from ..linked.runner import ServiceRunner
    from ..query.service import QueryService

    store = state.store(url)
    with store:
        runner = ServiceRunner(QueryService.inline(state.settings, store), state.settings.base)
        return [{k: str(v) for k, v in row.items()}
                for row in runner.select("curation-history").rows]


@main.command("history")
@click.option("--endpoint", default=None, help="A running mckg server, e.g. http://127.0.0.1:8000/.")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def history(state: State, endpoint: str | None, store_option: str | None, as_json: bool) -> None:
    """List the writes made over HTTP, newest first (the audit trail)."""
    rows = _fetch_history(endpoint) if endpoint else _store_history(state,
                                                                     state.store_url(store_option))
    if as_json:
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    if not rows:
        click.echo("no writes recorded")
        return
    for row in rows:
        reverts = f"  reverts {row['reverts']}" if row.get("reverts") else ""
        target = f" <{row['target']}>" if row.get("target") else ""
        click.echo(f"{row['id']}  {row['started'][:19]}  {row['agent']:<12} "
                   f"{row['operation']}{target}  +{row['added']} -{row['removed']}  "
                   f"conforms={row['conforms']}{reverts}")


@main.command("revert")
@click.argument("write_id")
@click.option("--endpoint", default=None, help="A running mckg server to send the revert to.")
@click.option("--token-env", default="MCKG_TOKEN", show_default=True,
              help="The environment variable holding the bearer token (with --endpoint).")
@click.option("--store", "store_option", default=None, help=STORE_HELP)
@click.pass_obj
def revert(state: State, write_id: str, endpoint: str | None, token_env: str,
           store_option: str | None) -> None:
    """Undo the write WRITE_ID (from mckg history); the revert is itself an audited write."""
    if endpoint:
        body = _post_revert(endpoint, write_id, token_env)
    else:
        body = _revert_in_store(state, state.store_url(store_option), write_id)
    click.echo(f"reverted {write_id} as write {body['write']}: +{body['added']} "
               f"-{body['removed']} triples")


def _post_revert(endpoint: str, write_id: str, token_env: str) -> dict[str, Any]:
    import requests

    token = os.environ.get(token_env)
    if not token:
        fail(f"set {token_env} to a curation token (mckg token new makes one)")
    url = endpoint.rstrip("/") + "/curation/revert"
    try:
        response = requests.post(url, params={"id": write_id},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=600)
    except requests.RequestException as exc:
        fail(f"cannot reach {url}: {exc}")
    if response.status_code != 200:
        fail(f"{response.status_code}: {response.text.strip()[:2000]}")
    answer: dict[str, Any] = response.json()
    return answer


def _revert_in_store(state: State, url: str, write_id: str) -> dict[str, Any]:
    from ..curation.curator import Curator, Invalid
    from ..curation.tokens import Token, curated_graph
    from ..curation.transaction import WriteRefused
    from ..query.service import QueryService
    from ..store import StoreError, open_store

    state.store(url).close()  # provisioned if needed, then opened for writing
    try:
        store = open_store(url)
    except StoreError as exc:
        fail(exc.message)
    service = QueryService.inline(state.settings, store)
    operator = Token(f"cli:{os.environ.get('USER', 'operator')}", "",
                     (*store.counts(), curated_graph(state.settings.base)))
    curator = Curator(service, state.settings)
    try:
        outcome = curator.revert(operator, write_id)
    except WriteRefused as exc:
        fail(exc.message)
    except Invalid as exc:
        fail(f"{exc}\n{exc.report.text()}", code=1)
    finally:
        curator.close()
        service.close()
    change = outcome.prepared.change
    return {"write": outcome.id, "added": change.n_added, "removed": change.n_removed}
