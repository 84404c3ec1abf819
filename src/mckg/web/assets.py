"""Templates and static files, read into memory and compiled when the app is created.

A running server never opens its package files again. The trap this closes: ``pip install .
&& mckg serve`` in one terminal, ``pip install -e ".[test]"`` in another — the reinstall
removes the installed package under the running server, and the next page it rendered from
disk failed with ``TemplateNotFound``. Now every template is compiled (and every template it
extends, imports or includes checked) before the server answers anything, and a missing or
broken one stops the start-up with its name, instead of a 500 for some later visitor.

Static files are served from memory with an ``ETag``, revalidated by browsers on each use
(``no-cache``), as Flask serves files from disk.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app, request
from jinja2 import DictLoader, TemplateError, meta
from werkzeug.exceptions import NotFound

from . import negotiation

#: Where the package keeps its ``templates/`` and ``static/`` folders.
PACKAGE_ASSETS = Path(__file__).resolve().parent


class AssetError(Exception):
    """A template or static file is missing, unreadable or does not compile."""


@dataclass(frozen=True)
class StaticFile:
    """One static file, held in memory."""

    body: bytes
    content_type: str
    etag: str


@dataclass(frozen=True)
class Assets:
    """Every template's source (by name) and every static file (by path under ``static/``)."""

    templates: dict[str, str]
    static: dict[str, StaticFile]


def _files(folder: Path) -> dict[str, Path]:
    """The files under ``folder`` by their ``/``-separated relative path.

    :raise AssetError: the folder is missing or holds nothing.
    """
    if not folder.is_dir():
        raise AssetError(f"the web app's folder {folder} is missing")
    found = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()
             and not p.name.startswith(".")}
    if not found:
        raise AssetError(f"the web app's folder {folder} is empty")
    return found


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AssetError(f"cannot read {path}: {exc.strerror or exc}") from None


def _static_file(name: str, body: bytes) -> StaticFile:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    text = media_type.startswith("text/") or media_type.endswith(("javascript", "json", "xml"))
    return StaticFile(body, negotiation.content_type(media_type) if text else media_type,
                      hashlib.sha256(body).hexdigest()[:32])


def load(folder: Path = PACKAGE_ASSETS) -> Assets:
    """Read ``folder/templates`` and ``folder/static`` into memory.

    :raise AssetError: a folder is missing or empty, a file unreadable or not UTF-8.
    """
    templates: dict[str, str] = {}
    for name, path in _files(folder / "templates").items():
        try:
            templates[name] = _read(path).decode("utf-8")
        except UnicodeDecodeError:
            raise AssetError(f"template {path} is not UTF-8 text") from None
    static = {name: _static_file(name, _read(path))
              for name, path in _files(folder / "static").items()}
    return Assets(templates, static)


def _compile_all(app: Flask, templates: dict[str, str]) -> None:
    """Compile every template now, and check that every template they name exists.

    :raise AssetError: a template does not compile or names one that is not there.
    """
    env = app.jinja_env
    for name, source in sorted(templates.items()):
        try:
            env.get_template(name)
            named = meta.find_referenced_templates(env.parse(source))
        except TemplateError as exc:
            raise AssetError(f"template {name} does not compile: {exc}") from None
        missing = sorted(n for n in named if n is not None and n not in templates)
        if missing:
            raise AssetError(f"template {name} uses {', '.join(missing)}, which is missing")


def _serve(assets: Assets, name: str) -> Response:
    """One static file, conditional on its ``ETag``.

    :raise 404: no such file.
    """
    found = assets.static.get(name)
    if found is None:
        raise NotFound(f"no static file {name!r}")
    response = Response(found.body, 200, content_type=found.content_type,
                        headers={"Cache-Control": "no-cache"})
    response.set_etag(found.etag)
    return response.make_conditional(request)


def install(app: Flask, assets: Assets) -> None:
    """Serve templates and static files from ``assets`` only; compile the templates now.

    ``/static/<path>`` is Flask's ``static`` endpoint (the app was created without a static
    folder); blueprints with files of their own mount a subfolder with :func:`static_view`.

    :raise AssetError: a template does not compile or names a missing one.
    """
    app.jinja_loader = DictLoader(assets.templates)  # type: ignore[assignment]
    _compile_all(app, assets.templates)
    app.extensions["mckg.assets"] = assets
    app.add_url_rule("/static/<path:filename>", endpoint="static",
                     view_func=lambda filename: _serve(assets, filename), methods=["GET", "HEAD"])


def static_view(subfolder: str) -> Callable[[str], Response]:
    """A view serving ``static/{subfolder}/<filename>`` from the app's assets."""

    def view(filename: str) -> Response:
        return _serve(current_app.extensions["mckg.assets"], f"{subfolder}/{filename}")

    return view
