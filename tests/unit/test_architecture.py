"""The import rules of ARCHITECTURE.md's "Modules" table, checked against the code.

Each module of `moderation/` and `flows/` belongs to a layer: its first name under `moderation/`
(`review/claims.py` is in `review`, `pipeline.py` is `pipeline`), or `flows`. A module may import its own
layer and the layers listed for it in `MAY_IMPORT`; anything else must be named in `EXCEPTIONS` with
its reason. ARCHITECTURE.md's table lists the same layers, so the document cannot drift either.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("moderation", "flows")

MAY_IMPORT: dict[str, frozenset[str]] = {
    layer: frozenset(allowed.split()) if allowed else frozenset()
    for layer, allowed in {
        "models": "",
        "links": "models",
        "errors": "",
        "redact": "",
        "retry_after": "",
        "webhooks": "",
        "stopping": "",
        "wording": "",
        "failure_logging": "errors",
        "config": "errors",
        "sources": "models config errors redact retry_after webhooks",
        "scoring": "models config errors",
        "policy": "models config",
        "training": "scoring config errors",
        "storage": "models errors redact",
        "review": "storage models config errors",
        "alerts": "storage models config errors links retry_after webhooks wording",
        "pipeline": "sources scoring policy storage alerts models config errors stopping",
        "run_report": "pipeline models",
        "score_file": "sources scoring policy models config errors",
        "web": "review models config errors links",
        "cli": "pipeline score_file review web alerts flows scoring policy training wording "
        "models config errors stopping failure_logging",
        "flows": "pipeline run_report alerts config errors failure_logging",
        "__main__": "cli",
    }.items()
}

EXCEPTIONS: dict[tuple[str, str], str] = {
    ("moderation.storage.store", "sources"): "clips and repairs records with sources/storable.py's limits",
    ("moderation.web.app", "storage"): "opens the database the app serves",
    ("moderation.web.security", "storage"): "takes a session per request for the login check",
    ("moderation.cli.options", "storage"): "opens the database for every command (configured_database)",
    ("moderation.cli.actions", "storage"): "lists and retries the site-action outbox",
    ("moderation.cli.alerts", "storage"): "lists and retries the alert outbox",
    ("moderation.cli.failures", "storage"): "lists and retries scoring failures",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "flows":
        return "flows"
    return parts[1] if len(parts) > 1 else "moderation"


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


KNOWN_MODULES = {module_name(path) for path in source_files()}


def imported_modules(path: Path) -> Iterator[str]:
    """The project's modules `path` imports: `from moderation import links` counts as `moderation.links`."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in KNOWN_MODULES else base


def layer_imports() -> Iterator[tuple[str, str, str]]:
    """(module, imported module, imported layer) for every import of another layer of ours."""
    for path in source_files():
        module = module_name(path)
        for target in imported_modules(path):
            if target.split(".")[0] in PACKAGES and layer_of(target) != layer_of(module):
                yield module, target, layer_of(target)


def test_every_module_imports_only_the_layers_its_layer_may_import() -> None:
    broken = sorted(
        f"{module} imports {target} ({layer} is not in {layer_of(module)}'s table row)"
        for module, target, layer in layer_imports()
        if layer != "moderation" and layer not in MAY_IMPORT[layer_of(module)] and (module, layer) not in EXCEPTIONS
    )
    assert not broken, "\n".join(broken)


def test_every_layer_of_the_code_has_a_row() -> None:
    layers = {layer_of(module_name(path)) for path in source_files()} - {"moderation"}
    assert layers - MAY_IMPORT.keys() == set()


def test_every_exception_is_still_needed() -> None:
    used = {(module, layer) for module, _, layer in layer_imports()}
    assert set(EXCEPTIONS) - used == set()


def documented_rows() -> dict[str, frozenset[str]]:
    """ARCHITECTURE.md's "Modules" table: `| \\`review/\\` | concept | queue, storage |` -> {review: ...}."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, frozenset[str]] = {}
    for match in re.finditer(r"^\| `([\w/.]+)` \|.*\| ([^|]*) \|$", section, re.MULTILINE):
        name = match.group(1).removesuffix("/").removesuffix(".py").split("/")[-1]
        allowed = match.group(2).strip()
        rows[name] = frozenset() if allowed == "nothing of ours" else frozenset(allowed.replace(",", " ").split())
    return rows


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_architecture_md_lists_the_same_imports_for(layer: str) -> None:
    assert documented_rows().get(layer) == MAY_IMPORT[layer]
