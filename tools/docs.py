#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the documentation site offline and check it (`make docs`).

Usage: tools/docs.py --docs-bin .venv-docs/bin [--out build/docs] [--no-screenshots]

1. ``antsibull-docs sphinx-init --use-current ... secretsops.aws`` writes the Sphinx project into
   OUT (our index page from tools/docsite/index.rst); intersphinx is switched off (its inventories
   cannot be fetched offline) and MyST added for the Markdown pages;
2. ``antsibull-docs collection --use-current --fail-on-error`` writes the plugin, role and index
   pages; README.md becomes the quick start page, docs/*.md the guides (with their pictures);
3. ``sphinx-build`` (no -W: references to other collections and to docs.ansible.com stay
   unresolved offline, as plain text) writes OUT/build/html;
4. checks: Sphinx warns about nothing of ours (every warning that is not an unresolvable
   reference to another collection or to docs.ansible.com fails); every local link and image of
   every page exists (file and #anchor); the index links the quick start, every guide and the
   ``secret`` module page; the architecture picture is on the architecture page;
5. screenshots of the index and the ``secret`` module page with headless Chromium (Debian package
   ``chromium``; ``CHROMIUM=/path`` to choose one) of the site served on 127.0.0.1, kept in
   OUT/screenshots/. Without a Chromium they are skipped with a notice, not failed.

antsibull-docs and Sphinx come from ``--docs-bin`` (their own venv); ansible-doc, which reads the
plugins' documentation, from this interpreter's bin directory (the dev venv, where amazon.aws
provides the doc fragments our plugins extend); the collection from ANSIBLE_COLLECTIONS_PATH.
"""
import argparse
import functools
import glob
import html.parser
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
COLLECTION = "secretsops.aws"
MODULE_PAGE = "collections/secretsops/aws/secret_module.html"
# Sphinx warnings expected offline (intersphinx off): references to the Ansible docs
# (common_return_values, ansible_configuration_settings...) and to other collections' pages.
# Anything else fails -- above all an undefined reference to one of our own pages or options.
EXTERNAL_REFERENCE = re.compile(r"WARNING: undefined label: '(?!ansible_collections\.secretsops\.aws\.)[^']+' \[ref\.ref\]$")


class Failed(Exception):
    pass


def step(title):
    print(f"docs: {title}", flush=True)


def run(command, env, cwd, log=None):
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    if log:
        with open(log, "w", encoding="utf-8") as handle:
            handle.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise Failed(f"{' '.join(command)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def tool_env(docs_bin):
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([docs_bin, BIN, env.get("PATH", "")])
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".collections"))
    env.pop("ANSIBLE_CONFIG", None)
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def _galaxy():
    import yaml

    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


CONF_APPEND = '''
# --- secretsops.aws (tools/docs.py): offline build --------------------------------------------
# Intersphinx off: its inventories (docs.python.org, docs.ansible.com) cannot be fetched offline.
intersphinx_mapping = {}
# The README (quick start) and the guides are Markdown.
extensions.append('myst_parser')
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
myst_heading_anchors = 3
'''


def build(docs_bin, out):
    env = tool_env(docs_bin)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    antsibull = os.path.join(docs_bin, "antsibull-docs")
    step("antsibull-docs sphinx-init --use-current")
    run([antsibull, "sphinx-init", "--use-current", "--dest-dir", out, "--lenient", "--fail-on-error",
         "--index-rst-source", os.path.join(ROOT, "tools", "docsite", "index.rst"),
         "--project", COLLECTION, "--copyright", "secretsops.aws contributors",
         "--title", "secretsops.aws", "--html-short-title", "secretsops.aws",
         # The theme links its logo to "/" by default, which is no page of a site opened from a folder.
         "--extra-html-theme-options", f"documentation_home_url={_galaxy()['documentation']}", COLLECTION], env, out)
    with open(os.path.join(out, "conf.py"), "a", encoding="utf-8") as handle:
        handle.write(CONF_APPEND)

    step("antsibull-docs collection --use-current --fail-on-error")
    rst = os.path.join(out, "rst")
    os.makedirs(rst, exist_ok=True)
    os.chmod(rst, 0o755)  # antsibull-docs wants the directory writable by its owner only
    run([antsibull, "--config-file", os.path.join(out, "antsibull-docs.cfg"), "collection", "--cleanup", "everything",
         "--fail-on-error", "--use-current", "--dest-dir", rst, COLLECTION], env, out, log=os.path.join(out, "antsibull-docs.log"))

    # After antsibull-docs (its clean-up would remove them): the quick start and the guides.
    # The README links the guides as docs/NAME.md; on the site they live in guides/.
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = re.sub(r"\]\(docs/([^)]+\.md)\)", r"](guides/\1)", handle.read())
    with open(os.path.join(rst, "quickstart.md"), "w", encoding="utf-8") as handle:
        handle.write(readme)
    guides = os.path.join(rst, "guides")
    os.makedirs(guides, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(ROOT, "docs", "*"))):
        if os.path.isfile(path) and not os.path.basename(path).upper().startswith("CHANGELOG"):
            shutil.copy2(path, guides)

    step("sphinx-build -M html (no -W)")
    log = os.path.join(out, "sphinx.log")
    run([os.path.join(docs_bin, "sphinx-build"), "-M", "html", "rst", "build", "-c", ".", "-q"], env, out, log=log)
    with open(log, encoding="utf-8") as handle:
        warnings = [line for line in handle.read().splitlines() if "WARNING" in line or "ERROR" in line]
    external = [line for line in warnings if EXTERNAL_REFERENCE.search(line)]
    ours = [line for line in warnings if line not in external]
    if ours:
        raise Failed(f"Sphinx warnings ({len(ours)}, full log {os.path.relpath(log, ROOT)}):\n" + "\n".join(ours[:40]))
    return os.path.join(out, "build", "html"), len(external)


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if (tag, key) in (("a", "href"), ("img", "src"), ("link", "href"), ("script", "src"), ("object", "data")) and attrs.get(key):
                self.links.append((tag, attrs[key]))


@functools.lru_cache(maxsize=None)
def _parse(path):
    parser = _Links()
    with open(path, encoding="utf-8", errors="replace") as handle:
        parser.feed(handle.read())
    return parser


def check_links(site):
    """Every local href/src of every page points to an existing file (and #anchor)."""
    broken, pages = [], 0
    for page in sorted(glob.glob(os.path.join(site, "**", "*.html"), recursive=True)):
        pages += 1
        for tag, link in _parse(page).links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(page), urllib.parse.unquote(parts.path))) if parts.path else page
            if os.path.isdir(target):
                target = os.path.join(target, "index.html")
            if not os.path.exists(target):
                broken.append(f"{os.path.relpath(page, site)}: <{tag}> {link} (no such file)")
            elif parts.fragment and target.endswith(".html") and parts.fragment not in _parse(target).ids:
                broken.append(f"{os.path.relpath(page, site)}: <{tag}> {link} (no such anchor)")
    if broken:
        raise Failed(f"{len(broken)} broken local link(s):\n" + "\n".join(broken[:40]))
    return pages


def check_contents(site):
    index = _parse(os.path.join(site, "index.html"))
    targets = {urllib.parse.urlsplit(link).path for tag, link in index.links if tag == "a"}
    wanted = ["quickstart.html", MODULE_PAGE] + [
        "guides/" + os.path.splitext(os.path.basename(path))[0] + ".html" for path in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]
    missing = [page for page in wanted if page not in targets]
    if missing:
        raise Failed("the index does not link: " + ", ".join(missing))
    pictures = []
    for page in ("index.html", "guides/architecture.html"):
        shown = [link for tag, link in _parse(os.path.join(site, page)).links if tag in ("img", "object") and link.endswith("architecture.svg")]
        if not shown:
            raise Failed(f"{page} does not show the architecture picture")
        pictures.extend(shown)
    module = _parse(os.path.join(site, MODULE_PAGE))
    if "parameter-json_secret" not in " ".join(module.ids) and not any("json_secret" in i for i in module.ids):
        raise Failed(f"{MODULE_PAGE} does not document the json_secret option")
    return len(wanted), pictures


def chromium():
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


def screenshots(site, out):
    browser = chromium()
    if not browser:
        step("screenshots SKIPPED: no headless Chromium here (Debian package `chromium`, or CHROMIUM=/path)")
        return []
    handler = functools.partial(_QuietHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shots_dir = os.path.join(out, "screenshots")
    os.makedirs(shots_dir, exist_ok=True)
    shots = []
    try:
        for name, page in (("index", "index.html"), ("secret_module", MODULE_PAGE), ("architecture", "guides/architecture.html")):
            path = os.path.join(shots_dir, f"{name}.png")
            url = f"http://127.0.0.1:{server.server_address[1]}/{page}"
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--window-size=1280,1600", f"--screenshot={path}", url],
                           capture_output=True, text=True, timeout=120, check=False)
            if not os.path.exists(path) or os.path.getsize(path) < 20_000:  # a blank 1280x1600 page is a few KB
                raise Failed(f"{browser} wrote no useful screenshot of {page} ({path})")
            shots.append(path)
    finally:
        server.shutdown()
    return shots


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs-bin", required=True, help="bin directory of the venv with antsibull-docs and Sphinx")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "docs"))
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    started = time.monotonic()
    try:
        site, external = build(os.path.abspath(args.docs_bin), out)
        step(f"site in {os.path.relpath(site, ROOT)}/index.html ({external} references to other collections / "
             "docs.ansible.com left unresolved offline)")
        pages = check_links(site)
        linked, pictures = check_contents(site)
        step(f"{pages} pages, no broken local link or image; index links {linked} pages; picture {pictures[0]}")
        if not args.no_screenshots:
            for shot in screenshots(site, out):
                step(f"screenshot {os.path.relpath(shot, ROOT)}")
    except Failed as exc:
        print(f"docs: FAILED: {exc}", file=sys.stderr)
        return 1
    step(f"done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
