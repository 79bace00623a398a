#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the built collection the way the Ansible ecosystem reads it (`make ecosystem`).

Usage: tools/ecosystem.py --eco-bin .venv-eco/bin [--out build/ecosystem]

1. ``ansible-galaxy collection build`` of this checkout (galaxy.yml's ``build_ignore`` applies);
2. the tarball's file list: what a user runs is there, development files are not;
3. ``galaxy-importer`` on the tarball (config tools/galaxy-importer.cfg: offline, no
   ansible-test, no containers): it must finish, log no ERROR or WARNING, and find the
   documentation of every module, lookup and filter;
4. ``ansible-galaxy collection install --offline`` of the tarball into a collections path that
   already holds amazon.aws and community.aws (as the execution-environment build does), then
   ``ansible-builder introspect`` over that path: our Python requirements (boto3, botocore,
   python-dotenv) must be listed for secretsops.aws;
5. ``ansible-builder create`` of execution-environment/execution-environment.yml with the tarball
   beside it: the build context must carry the tarball, install it, and ask Galaxy for
   amazon.aws and community.aws.

``ansible-galaxy`` and ``ansible-doc`` come from this interpreter's bin directory (the dev venv:
its PyPI ``ansible`` package holds amazon.aws, whose doc fragments our plugins extend);
galaxy-importer and ansible-builder from ``--eco-bin`` (their own venv: galaxy-importer pins
attrs < 24 and ansible-lint <= 26.10.1). Nothing here reaches Galaxy or a container engine.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

# Paths a user of the installed collection needs (relative to the collection root).
REQUIRED = (
    "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst",
    "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt", "requirements.yml",
    "plugins/modules/secret.py", "plugins/lookup/secret.py", "plugins/filter/from_dotenv.py",
    "plugins/module_utils/_secretsmanager/__init__.py",
    "playbooks/provision.yml", "playbooks/rotate.yml", "playbooks/audit.yml",
    "playbooks/demo/shop.yml",  # the example variables file the README and provision.yml point to
    "roles/secrets/meta/argument_specs.yml", "docs/architecture.md",
)
# Development files, and what cannot run from the tarball (it needs tools/, the Makefile or a
# checkout); see _matches for the pattern forms.
FORBIDDEN = (
    "tests/", "tools/", "benchmarks/", "extensions/", "execution-environment/", "build/",
    "demo-output/", "audit-report/", ".collections/", ".ci/", ".git", ".venv", ".ansible/",
    ".pytest_cache/", "Makefile", "pytest.ini", ".ansible-lint", "ansible.cfg",
    "requirements-",
)
# Demo inputs ship only when documented as examples: the README and provision.yml point to shop.yml,
# the README and import_dotenv.yml to import_shop.yml.
DEMO_DIR, DEMO_EXAMPLES = "playbooks/demo/", ("playbooks/demo/shop.yml", "playbooks/demo/import_shop.yml")
OUR_REQUIREMENTS = ("boto3", "botocore", "python-dotenv")


class Failed(Exception):
    pass


def run(command, **kwargs):
    """Run ``command``; on failure raise ``Failed`` with its output."""
    kwargs.setdefault("cwd", ROOT)
    proc = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise Failed(f"{' '.join(command)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def step(title):
    print(f"ecosystem: {title}", flush=True)


def build(out):
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        galaxy = yaml.safe_load(handle)
    tarball = os.path.join(out, f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", out, ROOT])
    if not os.path.isfile(tarball):
        raise Failed(f"ansible-galaxy collection build did not write {tarball}")
    return galaxy, tarball


def _matches(name, bad):
    """``bad`` ending in "/" is a directory; a leading "." is a name prefix (.git → .gitignore,
    .venv → .venv-eco), and so is a trailing "-" (requirements- → requirements-dev.txt); anything else is one exact path."""
    if bad.endswith("/"):
        return name == bad[:-1] or name.startswith(bad)
    if bad.startswith(".") or bad.endswith("-"):
        return name.startswith(bad)
    return name == bad


def check_file_list(tarball):
    with tarfile.open(tarball) as archive:
        names = {member.name.rstrip("/") for member in archive.getmembers()}
    missing = [path for path in REQUIRED if path not in names]
    shipped = sorted(name for name in names if any(_matches(name, bad) for bad in FORBIDDEN)
                     or (name.startswith(DEMO_DIR) and name not in DEMO_EXAMPLES)
                     or name.endswith(".env"))  # a local .env holds real secrets
    problems = []
    if missing:
        problems.append("missing from the tarball: " + ", ".join(missing))
    if shipped:
        problems.append("in the tarball but not for users (extend build_ignore in galaxy.yml): " + ", ".join(shipped[:40]))
    if problems:
        raise Failed("\n".join(problems))
    return len(names)


def galaxy_importer(eco_bin, tarball, out):
    work = os.path.join(out, "importer")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ,
               GALAXY_IMPORTER_CONFIG=os.path.join(ROOT, "tools", "galaxy-importer.cfg"),
               GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=os.path.join(work, "ansible-tmp"),
               GALAXY_IMPORTER_TMP_ROOT_DIR=work,
               # ansible-doc from the dev venv: amazon.aws (doc fragments) is importable there.
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run([os.path.join(eco_bin, "python"), "-m", "galaxy_importer.main", tarball],
                          capture_output=True, text=True, env=env, cwd=work, check=False)
    log = proc.stdout + proc.stderr
    complaints = [line for line in log.splitlines() if line.startswith(("ERROR", "WARNING", "Traceback"))]
    if proc.returncode != 0 or complaints or "Importer processing completed successfully" not in log:
        raise Failed(f"galaxy-importer failed (exit {proc.returncode}):\n" + ("\n".join(complaints) or log))
    with open(os.path.join(work, "importer_result.json"), encoding="utf-8") as handle:
        result = json.load(handle)
    plugins = [item for item in result["docs_blob"]["contents"] if item["content_type"] in ("module", "lookup", "filter")]
    undocumented = [f"{item['content_type']} {item['content_name']}" for item in plugins
                    if not (item.get("doc_strings") or {}).get("doc")]
    if not plugins or undocumented:
        raise Failed("galaxy-importer found no documentation for: " + (", ".join(undocumented) or "any plugin"))
    return result, len(plugins)


def dependency_collections_path(out):
    """A collections path holding links to the amazon.aws and community.aws the dev venv uses."""
    path = os.path.join(out, "collections")
    shutil.rmtree(path, ignore_errors=True)
    listing = json.loads(run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "--format", "json"], cwd=out))
    for fqcn in ("amazon.aws", "community.aws"):
        found = [root for root, collections in listing.items() if fqcn in collections]
        if not found:
            raise Failed(f"{fqcn} is not installed for {BIN}/ansible-galaxy")
        namespace, name = fqcn.split(".")
        os.makedirs(os.path.join(path, "ansible_collections", namespace), exist_ok=True)
        os.symlink(os.path.join(found[0], namespace, name), os.path.join(path, "ansible_collections", namespace, name))
    return path


def install_and_introspect(eco_bin, tarball, out):
    path = dependency_collections_path(out)
    # --offline: as the execution environment's append_galaxy step (no Galaxy; dependencies already there).
    # cwd=out, no ANSIBLE_CONFIG: the checkout's ansible.cfg would make this checkout "already installed".
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["ANSIBLE_COLLECTIONS_PATH"] = path
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--force",
         "--collections-path", path, tarball], cwd=out, env=env)
    if not os.path.isfile(os.path.join(path, "ansible_collections", "secretsops", "aws", "MANIFEST.json")):
        raise Failed(f"the tarball was not installed under {path}")
    text = run([os.path.join(eco_bin, "ansible-builder"), "introspect", path], cwd=out)
    data = yaml.safe_load(text.split("\n", 1)[1] if text.startswith("#") else text) or {}
    ours = [line for line in data.get("python") or [] if line.endswith("# from collection secretsops.aws")]
    names = {re.split(r"[<>=!~ ;\[]", line, maxsplit=1)[0].lower() for line in ours}
    missing = [req for req in OUR_REQUIREMENTS if req not in names]
    if missing:
        raise Failed("ansible-builder introspect does not list for secretsops.aws: " + ", ".join(missing) + "\n" + text)
    return ours, data.get("python") or []


def builder_create(eco_bin, tarball, galaxy, out):
    ee_dir = os.path.join(out, "execution-environment")
    context = os.path.join(out, "ee-context")
    shutil.rmtree(ee_dir, ignore_errors=True)
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "execution-environment"), ee_dir)
    shutil.copy2(tarball, ee_dir)  # where the README says to build it
    run([os.path.join(eco_bin, "ansible-builder"), "create", "-f", os.path.join(ee_dir, "execution-environment.yml"),
         "-c", context, "--output-filename", "Containerfile"], cwd=out)
    problems = []
    copied = os.path.join(context, "_build", "collections", os.path.basename(tarball))
    if not os.path.isfile(copied):
        problems.append(f"the build context has no {os.path.relpath(copied, context)}")
    with open(os.path.join(context, "Containerfile"), encoding="utf-8") as handle:
        containerfile = handle.read()
    if not re.search(r"^RUN ansible-galaxy collection install .*/build/collections/secretsops-aws-\*\.tar\.gz", containerfile, re.M):
        problems.append("the Containerfile does not install the secretsops.aws tarball")
    with open(os.path.join(context, "_build", "requirements.yml"), encoding="utf-8") as handle:
        wanted = {item["name"] for item in yaml.safe_load(handle).get("collections", [])}
    for dependency in galaxy["dependencies"]:
        if dependency not in wanted:
            problems.append(f"the execution environment does not install {dependency} (a galaxy.yml dependency)")
    if problems:
        raise Failed("\n".join(problems))
    return context


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eco-bin", required=True, help="bin directory of the venv with galaxy-importer and ansible-builder")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "ecosystem"))
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    eco_bin = os.path.abspath(args.eco_bin)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    started = time.monotonic()
    try:
        step("ansible-galaxy collection build")
        galaxy, tarball = build(out)
        count = check_file_list(tarball)
        step(f"{os.path.relpath(tarball, ROOT)}: {count} entries, no development files")
        step("galaxy-importer (offline: no ansible-test, no ansible-lint)")
        result, documented = galaxy_importer(eco_bin, tarball, out)
        step(f"galaxy-importer: imported, {len(result['contents'])} contents, {documented} plugins documented, "
             f"requires_ansible {result['requires_ansible']}")
        step("ansible-galaxy collection install --offline + ansible-builder introspect")
        ours, everything = install_and_introspect(eco_bin, tarball, out)
        step(f"introspect: {len(everything)} Python requirements, ours: " + "; ".join(line.split("  #")[0] for line in ours))
        step("ansible-builder create -f execution-environment/execution-environment.yml")
        context = builder_create(eco_bin, tarball, galaxy, out)
        step(f"build context in {os.path.relpath(context, ROOT)} (no image: no container engine here)")
    except Failed as exc:
        print(f"ecosystem: FAILED: {exc}", file=sys.stderr)
        return 1
    step(f"all checks passed in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
