// The mckg query page: highlight the textarea, run queries, render results, offer downloads.
// Plain JavaScript served from the package, so the page works with no internet access; if
// this script does not load, the textarea and the form still post the query to /sparql.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("mckg-config").textContent);
  const form = document.getElementById("query-form");
  const editor = document.getElementById("query");
  const highlight = document.getElementById("highlight");
  const statusLine = document.getElementById("status");
  const errorBox = document.getElementById("error");
  const results = document.getElementById("results");
  const downloads = document.getElementById("downloads");
  const endpoint = new URL(config.endpoint, document.baseURI).href;

  // ---- prefixes: one registry, longest namespace first ------------------------------------
  const prefixes = Object.entries(config.prefixes).sort((a, b) => b[1].length - a[1].length);
  const localName = /^[A-Za-z0-9_][A-Za-z0-9_.\-]*$/;

  function shorten(iri) {
    for (const [name, ns] of prefixes) {
      if (iri.startsWith(ns)) {
        const local = iri.slice(ns.length);
        if (local === "" || (localName.test(local) && !local.endsWith("."))) {
          return name + ":" + local;
        }
      }
    }
    return "<" + iri + ">";
  }

  // The server's allow-list of links (mckg.linked.iris): a path here, or an IRI whose scheme
  // is listed; anything else (javascript:, data:…) is shown as text. No space, control
  // character or backslash anywhere: browsers rewrite those, so the check would not hold.
  const unsafe = /[\u0000-\u0020\u007f-\u009f\\]/;

  function linkFor(iri) {
    // IRIs of this dataset link to their path on this server; others to themselves.
    if (unsafe.test(iri)) return null;
    if (iri.startsWith(config.base)) {
      const rest = iri.slice(config.base.length);
      return rest.startsWith("/") ? null : new URL("/" + rest, document.baseURI).href;
    }
    const scheme = /^([A-Za-z][A-Za-z0-9+.\-]*):/.exec(iri);
    return scheme && config.linkSchemes.includes(scheme[1].toLowerCase()) ? iri : null;
  }

  // ---- highlighting ---------------------------------------------------------------------
  const KEYWORDS = new Set(("select distinct reduced construct describe ask where from named " +
    "prefix base optional union minus graph service filter bind values as order by asc desc " +
    "limit offset group having not exists in a count sum min max avg sample group_concat " +
    "separator lang langmatches datatype bound iri uri str regex contains strstarts strends " +
    "lcase ucase concat if coalesce true false undef isiri isuri isblank isliteral").split(" "));
  const TOKEN = /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(<[^<>"{}|^`\\\s]*>)|([?$][A-Za-z0-9_\u00C0-\uFFFF]+)|([A-Za-z_][\w\-.]*)?:([\w\-.%]*)|([A-Za-z_]+)|(\d+(?:\.\d+)?)/g;

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function paint() {
    const text = editor.value;
    let out = "";
    let last = 0;
    TOKEN.lastIndex = 0;
    for (let m = TOKEN.exec(text), n = 0; m !== null && n < 100000; m = TOKEN.exec(text), n++) {
      out += escapeHtml(text.slice(last, m.index));
      let cls = null;
      if (m[1]) cls = "c";
      else if (m[2]) cls = "s";
      else if (m[3]) cls = "i";
      else if (m[4]) cls = "v";
      else if (m[6] !== undefined) cls = "p";
      else if (m[7]) cls = KEYWORDS.has(m[7].toLowerCase()) ? "k" : null;
      else if (m[8]) cls = "n";
      const piece = escapeHtml(m[0]);
      out += cls ? '<span class="' + cls + '">' + piece + "</span>" : piece;
      last = m.index + m[0].length;
      if (m[0].length === 0) TOKEN.lastIndex++;
    }
    out += escapeHtml(text.slice(last));
    highlight.innerHTML = out + "\n";
    syncScroll();
  }

  function syncScroll() {
    highlight.scrollTop = editor.scrollTop;
    highlight.scrollLeft = editor.scrollLeft;
  }

  editor.addEventListener("input", paint);
  editor.addEventListener("scroll", syncScroll);
  // Tab indents, but must not trap keyboard users (WCAG 2.1.2): Escape, then Tab, leaves the
  // editor, as in common code editors; the page says so next to the editor.
  let leaving = false;
  editor.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      leaving = true;
      return;
    }
    const leave = leaving;
    leaving = false;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    } else if (event.key === "Tab" && !event.shiftKey && !leave) {
      event.preventDefault();
      const start = editor.selectionStart;
      editor.setRangeText("  ", start, editor.selectionEnd, "end");
      paint();
    }
  });
  document.body.classList.add("js");

  // ---- running --------------------------------------------------------------------------
  const RESULT_ACCEPT = "application/sparql-results+json, text/turtle;q=0.9";

  function post(query, accept) {
    return fetch(endpoint, {
      method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
      body: new URLSearchParams({query: query}),
    });
  }

  async function errorText(response) {
    const type = response.headers.get("Content-Type") || "";
    const text = await response.text();
    if (type.includes("json")) {
      try {
        const problem = JSON.parse(text);
        return problem.status + " " + problem.title + ": " + problem.detail;
      } catch (e) { /* fall through to the raw text */ }
    }
    return text.trim() || (response.status + " " + response.statusText);
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  let running = 0;

  async function run() {
    const query = editor.value;
    const ticket = ++running;
    errorBox.hidden = true;
    results.replaceChildren();
    downloads.replaceChildren();
    statusLine.textContent = "Running…";
    const started = performance.now();
    let response;
    try {
      response = await post(query, RESULT_ACCEPT);
    } catch (e) {
      statusLine.textContent = "";
      showError("The server could not be reached: " + e.message);
      return;
    }
    const elapsed = Math.round(performance.now() - started);
    if (ticket !== running) return;
    const serverTime = response.headers.get("X-MCKG-Query-Time");
    const timing = elapsed + " ms" +
      (serverTime ? " (query " + Math.round(parseFloat(serverTime) * 1000) + " ms)" : "");
    if (!response.ok) {
      statusLine.textContent = "Failed after " + timing;
      showError(await errorText(response));
      return;
    }
    const truncated = response.headers.get("X-MCKG-Truncated") === "true";
    const type = response.headers.get("Content-Type") || "";
    let summary;
    if (type.startsWith("application/sparql-results+json")) {
      const data = await response.json();
      if ("boolean" in data) {
        renderBoolean(data.boolean);
        summary = "ASK answered " + data.boolean;
        offerDownloads(query, [["JSON", "application/sparql-results+json", "json"],
                               ["CSV", "text/csv", "csv"]]);
      } else {
        const n = renderTable(data);
        summary = n + (n === 1 ? " row" : " rows");
        offerDownloads(query, [["CSV", "text/csv", "csv"],
                               ["JSON", "application/sparql-results+json", "json"],
                               ["TSV", "text/tab-separated-values", "tsv"]]);
      }
    } else {
      const text = await response.text();
      const pre = document.createElement("pre");
      pre.className = "graph";
      pre.textContent = text;
      results.appendChild(pre);
      summary = "graph";
      offerDownloads(query, [["Turtle", "text/turtle", "ttl"],
                             ["N-Triples", "application/n-triples", "nt"],
                             ["JSON-LD", "application/ld+json", "jsonld"]]);
    }
    statusLine.textContent = summary + " in " + timing +
      (truncated ? " — truncated at the result limit of " + config.resultLimit : "");
    statusLine.dataset.truncated = truncated ? "true" : "false";
  }

  function renderBoolean(value) {
    const p = document.createElement("p");
    p.className = "boolean";
    p.textContent = value ? "true" : "false";
    results.appendChild(p);
  }

  function cell(term) {
    const td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri") {
      const href = linkFor(term.value);
      const node = document.createElement(href ? "a" : "span");
      if (href) node.href = href;
      node.title = term.value;
      node.className = "iri";
      node.textContent = shorten(term.value);
      td.appendChild(node);
    } else if (term.type === "bnode") {
      td.textContent = "_:" + term.value;
      td.className = "bnode";
    } else {
      td.appendChild(document.createTextNode(term.value));
      const extra = term["xml:lang"] ? "@" + term["xml:lang"] :
        (term.datatype ? "^^" + shorten(term.datatype) : "");
      if (extra) {
        const small = document.createElement("small");
        small.textContent = extra;
        td.appendChild(small);
      }
    }
    return td;
  }

  function renderTable(data) {
    const vars = data.head.vars || [];
    const rows = data.results.bindings || [];
    const table = document.createElement("table");
    table.className = "results";
    const head = table.createTHead().insertRow();
    for (const name of vars) {
      const th = document.createElement("th");
      th.textContent = "?" + name;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const name of vars) tr.appendChild(cell(row[name]));
    }
    results.appendChild(table);
    return rows.length;
  }

  function offerDownloads(query, kinds) {
    downloads.replaceChildren(document.createTextNode("Download: "));
    for (const [label, accept, suffix] of kinds) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "download";
      button.textContent = label;
      button.addEventListener("click", async function () {
        const response = await post(query, accept);
        if (!response.ok) {
          showError(await errorText(response));
          return;
        }
        const blob = await response.blob();
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = "mckg-results." + suffix;
        document.body.appendChild(a);
        a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      });
      downloads.appendChild(button);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });

  for (const button of document.querySelectorAll("button.example")) {
    button.addEventListener("click", function () {
      const example = config.examples[Number(button.dataset.index)];
      editor.value = example.text;
      paint();
      run();
    });
  }

  paint();
  if (config.autorun) run();
})();
