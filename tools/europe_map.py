"""Make the bundled map of Europe (``src/mckg/linked/geo/europe.json``) from Natural Earth.

The comparison page draws its map server-side from that small file; nothing is fetched when the
server runs. This script is how the file was made, kept so it can be made again (for another
extent or level of detail):

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python tools/europe_map.py package/countries-50m.json src/mckg/linked/geo/europe.json

``world-atlas`` (ISC licence) is Natural Earth's 1:50m Admin 0 countries (public domain) as
TopoJSON. The script decodes the arcs, keeps the European countries below, projects them with a
Lambert azimuthal equal-area projection centred on 10° E 52° N (the projection the EU's own maps
use, EPSG:3035, without its false origin), clips them to the frame, simplifies them
(Douglas-Peucker, half a pixel) and writes each country as one SVG path in a 600 × 593 frame.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

#: ISO 3166-1 numeric (Natural Earth's ids) → alpha-2, for the countries drawn; Kosovo and
#: Northern Cyprus have no numeric code in Natural Earth and are matched by name.
EUROPE = {
    "008": "AL", "020": "AD", "040": "AT", "056": "BE", "100": "BG", "070": "BA", "112": "BY",
    "756": "CH", "196": "CY", "203": "CZ", "276": "DE", "208": "DK", "724": "ES", "233": "EE",
    "246": "FI", "250": "FR", "826": "GB", "300": "GR", "191": "HR", "348": "HU", "372": "IE",
    "352": "IS", "380": "IT", "438": "LI", "440": "LT", "442": "LU", "428": "LV", "498": "MD",
    "807": "MK", "470": "MT", "499": "ME", "528": "NL", "578": "NO", "616": "PL", "620": "PT",
    "642": "RO", "643": "RU", "688": "RS", "703": "SK", "705": "SI", "752": "SE", "804": "UA",
    "792": "TR", "492": "MC", "674": "SM", "336": "VA",
    "268": "GE", "051": "AM", "031": "AZ", "012": "DZ", "788": "TN", "504": "MA", "434": "LY",
    "818": "EG", "760": "SY", "368": "IQ", "364": "IR", "400": "JO", "376": "IL", "422": "LB",
    "398": "KZ", "304": "GL",
}
BY_NAME = {"Kosovo": "XK", "N. Cyprus": "CY"}
#: Countries outside the EHEA drawn for context only (no link, no colour).
CONTEXT = {"DZ", "TN", "MA", "LY", "EG", "SY", "IQ", "IR", "JO", "IL", "LB", "KZ", "GL"}
#: Regions the report treats like countries, drawn as a marker (approximate centres, by hand).
REGIONS = {"BE-VLG": ("Flanders", 51.0, 4.25), "ES-CT": ("Catalonia", 41.8, 1.5)}
WIDTH, HEIGHT = 600, 593
LON0, LAT0 = math.radians(10), math.radians(52)
#: Projected frame (metres) shown: Iceland and Portugal to Moscow, Malta and Cyprus to Nordkapp.
X_MIN, X_MAX, Y_MIN, Y_MAX = -1_950_000, 2_350_000, -1_950_000, 2_300_000


def laea(lon: float, lat: float) -> tuple[float, float]:
    """Lambert azimuthal equal-area (sphere, R = 6371 km), centred on 10° E 52° N."""
    lam, phi = math.radians(lon), math.radians(lat)
    k = math.sqrt(2 / (1 + math.sin(LAT0) * math.sin(phi)
                       + math.cos(LAT0) * math.cos(phi) * math.cos(lam - LON0)))
    r = 6_371_000
    x = r * k * math.cos(phi) * math.sin(lam - LON0)
    y = r * k * (math.cos(LAT0) * math.sin(phi) - math.sin(LAT0) * math.cos(phi) * math.cos(lam - LON0))
    return x, y


def to_frame(x: float, y: float) -> tuple[float, float]:
    """Projected metres → SVG pixels (y down)."""
    return ((x - X_MIN) / (X_MAX - X_MIN) * WIDTH, (Y_MAX - y) / (Y_MAX - Y_MIN) * HEIGHT)


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    """TopoJSON's quantized, delta-encoded arcs as longitude/latitude points."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        out.append(points)
    return out


def ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    """One ring from its arcs (a negative index is the arc ~i reversed)."""
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        points.extend(arc[1:] if points else arc)
    return points


def clip(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sutherland-Hodgman clipping of a ring to the frame (with a small margin)."""
    m = 2.0
    edges = [(lambda p: p[0] >= -m, lambda a, b: _cut_x(a, b, -m)),
             (lambda p: p[0] <= WIDTH + m, lambda a, b: _cut_x(a, b, WIDTH + m)),
             (lambda p: p[1] >= -m, lambda a, b: _cut_y(a, b, -m)),
             (lambda p: p[1] <= HEIGHT + m, lambda a, b: _cut_y(a, b, HEIGHT + m))]
    for inside, cut in edges:
        if not points:
            break
        kept: list[tuple[float, float]] = []
        for i, cur in enumerate(points):
            prev = points[i - 1]
            if inside(cur):
                if not inside(prev):
                    kept.append(cut(prev, cur))
                kept.append(cur)
            elif inside(prev):
                kept.append(cut(prev, cur))
        points = kept
    return points


def _cut_x(a: tuple[float, float], b: tuple[float, float], x: float) -> tuple[float, float]:
    t = (x - a[0]) / (b[0] - a[0])
    return x, a[1] + t * (b[1] - a[1])


def _cut_y(a: tuple[float, float], b: tuple[float, float], y: float) -> tuple[float, float]:
    t = (y - a[1]) / (b[1] - a[1])
    return a[0] + t * (b[0] - a[0]), y


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker, iterative (rings of thousands of points would recurse too deep)."""
    if len(points) < 4:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy) or 1e-12
        best, index = 0.0, -1
        for i in range(first + 1, last):
            x0, y0 = points[i]
            d = abs(dy * x0 - dx * y0 + x2 * y1 - y2 * x1) / norm if norm > 1e-9 else \
                math.hypot(x0 - x1, y0 - y1)
            if d > best:
                best, index = d, i
        if best > tolerance and index > 0:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def path(rings: list[list[tuple[float, float]]]) -> str:
    """SVG path data, one decimal."""
    parts = []
    for r in rings:
        parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in r) + "Z")
    return "".join(parts)


def main(source: Path, target: Path) -> None:
    topo = json.loads(source.read_text())
    arcs = decode_arcs(topo)
    shapes: dict[str, list[list[tuple[float, float]]]] = {}
    names: dict[str, str] = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        code = EUROPE.get(geometry.get("id") or "") or BY_NAME.get(geometry["properties"]["name"])
        if code is None:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in polygons:
            for indexes in polygon:
                projected = [to_frame(*laea(lon, lat)) for lon, lat in ring(arcs, indexes)]
                clipped = simplify(clip(projected), 0.5)
                xs = [p[0] for p in clipped]
                ys = [p[1] for p in clipped]
                if len(clipped) < 3 or (max(xs) - min(xs) < 0.8 and max(ys) - min(ys) < 0.8):
                    continue  # outside the frame, or smaller than a pixel
                shapes.setdefault(code, []).append(clipped)
        names.setdefault(code, geometry["properties"]["name"])
    countries = {code: {"name": names[code], "path": path(rings), "context": code in CONTEXT}
                 for code, rings in sorted(shapes.items())}
    points = {}
    for code, (name, lat, lon) in REGIONS.items():
        x, y = to_frame(*laea(lon, lat))
        points[code] = {"name": name, "x": round(x, 1), "y": round(y, 1)}
    document = {
        "source": "Natural Earth 1:50m Admin 0 countries (public domain), via the world-atlas "
                  "2.0.2 npm package (ISC licence); projected, clipped and simplified by "
                  "tools/europe_map.py",
        "width": WIDTH, "height": HEIGHT, "countries": countries, "regions": points,
    }
    target.write_text(json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"{target}: {len(countries)} countries, {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
