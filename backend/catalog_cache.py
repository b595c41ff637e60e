"""A per-user cache of what `guidepost explain` would otherwise rebuild on every run.

The validated guide catalog (no YAML, no pydantic: the pickle holds plain dataclasses).
Its key is the sha256 of everything the catalog is made of: every file `load_catalog`
reads (fields.yaml, labels.yaml, each <guide>/guide.yaml, by name and content), the
folder as given and resolved, the source of the modules whose classes the pickle holds,
and the Guidepost and Python versions. A changed file makes a new key, so an entry is
never stale; a file that does not start with its key, or does not unpickle into a
GuideCatalog, is ignored and rewritten. Beside it, keyed the same way on every template
file, Jinja's version and render.py: what each template reads (JSON), so no template is
parsed to learn it, and Jinja's compiled templates (its bytecode cache, checked against
each template's source). The cache lives in the user's cache folder
($XDG_CACHE_HOME/guidepost, else ~/.cache/guidepost), never in the repo. Only the owner
may write it (folders 0700, files checked), since a pickle and compiled code are code.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import FileSystemBytecodeCache
from jinja2 import __version__ as jinja_version
from jinja2.bccache import Bucket

from backend import __version__
from backend.domain import fields as fields_module
from backend.domain import guides as guides_module
from backend.domain.guides import GuideCatalog, catalog_files

if TYPE_CHECKING:
    from backend.domain.render import TextRenderer
    from backend.domain.template_facts import TemplateFactsByGuide

FORMAT = b"guidepost-catalog-v2"
TEMPLATES_FORMAT = b"guidepost-template-facts-v1"
# The modules defining every class a pickled catalog holds (Path and JSON values aside).
MODEL_MODULES = (guides_module, fields_module)


def cache_folder() -> Path:
    """$XDG_CACHE_HOME/guidepost, else ~/.cache/guidepost (the XDG base directory rule)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # XDG: a relative $XDG_CACHE_HOME is invalid and must be ignored.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "guidepost"


def catalog_key(root: Path) -> str:
    """sha256 naming this catalog's sources exactly (OSError when one cannot be read)."""
    digest = hashlib.sha256(FORMAT)
    parts = [__version__, sys.version, str(root), str(root.resolve())]
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogateescape"))
    # What validated the pickled catalog: pydantic's version file, read, not imported.
    digest.update(b"\0" + _validator_version())
    sources = [Path(str(module.__file__)) for module in MODEL_MODULES]
    for path in [*sources, *catalog_files(root)]:
        digest.update(b"\0" + str(path).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _validator_version() -> bytes:
    """pydantic's `version.py` as bytes (found without importing pydantic), or b""."""
    spec = importlib.util.find_spec("pydantic")
    if spec is None or spec.origin is None:
        return b""
    return (Path(spec.origin).parent / "version.py").read_bytes()


def entry_path(folder: Path, root: Path) -> Path:
    """One entry per guides folder: a changed catalog overwrites it instead of piling up."""
    name = hashlib.sha256(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return folder / f"catalog-{name[:32]}.pickle"


def read_entry(path: Path, key: str) -> GuideCatalog | None:
    """The cached catalog when the entry is ours, private and made from `key`; else None."""
    header = FORMAT + b"\n" + key.encode("ascii") + b"\n"
    try:
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            if not _private(status.st_uid, status.st_mode):
                return None
            data = handle.read()
    except OSError:
        return None
    if not data.startswith(header):
        return None
    try:
        catalog = pickle.loads(data[len(header) :])  # noqa: S301 - our own private file, keyed
    except Exception:
        return None
    return catalog if isinstance(catalog, GuideCatalog) else None


def write_entry(path: Path, key: str, catalog: GuideCatalog) -> None:
    """Write the entry atomically (temp file + rename); skipped when it cannot be written."""
    header = FORMAT + b"\n" + key.encode("ascii") + b"\n"
    try:
        body = pickle.dumps(catalog, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return
    _write_private(path, header + body)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may write, atomically; skipped when it cannot be written."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".catalog-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError:
        return


def _private(uid: int, mode: int) -> bool:
    """True when the file is the current user's and nobody else may write it."""
    getuid = getattr(os, "getuid", None)
    owned = getuid is None or uid == getuid()
    return owned and not mode & 0o022


def load_catalog_cached(root: Path, folder: Path | None = None) -> GuideCatalog:
    """`load_catalog(root)`, from the cache when its sources are unchanged since it was written."""
    try:
        key = catalog_key(root)
    except OSError:
        # A missing or unreadable file: load_catalog names it with a clear error.
        return guides_module.load_catalog(root)
    path = entry_path(folder or cache_folder(), root)
    cached = read_entry(path, key)
    if cached is not None:
        return cached
    catalog = guides_module.load_catalog(root)
    write_entry(path, key, catalog)
    return catalog


def template_files(root: Path, guide_ids: Iterable[str]) -> list[Path]:
    """Every file the guides' template loaders may serve (their folders and _common)."""
    folders = [root / guide_id / "templates" for guide_id in sorted(guide_ids)]
    return [p for folder in [*folders, root / "_common"] for p in sorted(folder.rglob("*"))]


def templates_key(catalog: GuideCatalog) -> str:
    """sha256 naming what the analysis depends on: every template file, Jinja, its modules."""
    from backend.domain import render, template_facts

    digest = hashlib.sha256(TEMPLATES_FORMAT)
    for part in (jinja_version, str(catalog.root.resolve())):
        digest.update(b"\0" + part.encode("utf-8", "surrogateescape"))
    sources = [Path(str(module.__file__)) for module in (render, template_facts)]
    files = [*sources, *template_files(catalog.root, catalog.guides)]
    for path in files:
        digest.update(b"\0" + str(path).encode("utf-8", "surrogateescape") + b"\0")
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_template_facts(path: Path, key: str) -> TemplateFactsByGuide | None:
    """The template facts of the entry when it is ours, private and made from `key`."""
    from backend.domain.template_facts import TemplateFacts

    try:
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            if not _private(status.st_uid, status.st_mode):
                return None
            document = json.loads(handle.read())
        if not isinstance(document, dict) or document.get("key") != key:
            return None
        return {
            str(guide_id): {
                str(name): None if facts is None else TemplateFacts.from_json(facts)
                for name, facts in by_name.items()
            }
            for guide_id, by_name in document["facts"].items()
        }
    except (OSError, ValueError, TypeError, AttributeError, KeyError, RecursionError):
        return None


def bytecode_cache(folder: Path) -> QuietBytecodeCache | None:
    """Jinja's cache of compiled templates in a private folder, or None when there is none.

    Jinja checks each entry against its template's source; the folder is named after what
    compiled code also depends on (Jinja's version, render.py's environment options, and
    the filters and sandbox of render_filters.py: Jinja decides at compile time how a
    filter is called and which operators the sandbox intercepts).
    """
    from backend.domain import render, render_filters

    digest = hashlib.sha256(TEMPLATES_FORMAT + b"\0" + jinja_version.encode("ascii"))
    for module in (render, render_filters):
        digest.update(Path(str(module.__file__)).read_bytes())
    path = folder / f"jinja-{digest.hexdigest()[:16]}"
    try:
        status = path.stat()
    except FileNotFoundError:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.mkdir(mode=0o700, exist_ok=True)
            status = path.stat()
        except OSError:
            return None
    except OSError:
        return None
    # Compiled code is loaded and run: only from a folder nobody else may write.
    private = _private(status.st_uid, status.st_mode) and not status.st_mode & 0o077
    if not private or not stat.S_ISDIR(status.st_mode):
        return None
    return QuietBytecodeCache(str(path))


class QuietBytecodeCache(FileSystemBytecodeCache):
    """Jinja's file cache of compiled templates; an entry it cannot read or write is skipped.

    As the catalog entry: a damaged file is compiled afresh, a full disk writes nothing.
    """

    def load_bytecode(self, bucket: Bucket) -> None:
        """Fill the bucket from its file, or leave it empty (Jinja then compiles)."""
        try:
            super().load_bytecode(bucket)
        except Exception:
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Write the bucket's code; skipped when the folder cannot be written."""
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def cached_renderer(catalog: GuideCatalog, folder: Path | None = None) -> TextRenderer:
    """A TextRenderer that knows what each template reads without parsing every one of them.

    A decision's context holds only the derived facts some template of its guide reads:
    telling that parses every template of the guide. The answer, per template, is kept
    in the cache folder while no template file (nor Jinja, nor render.py) has changed.
    """
    from backend.domain.render import TextRenderer

    try:
        key = templates_key(catalog)
    except OSError:
        return TextRenderer(catalog)
    name = hashlib.sha256(str(catalog.root.resolve()).encode("utf-8", "surrogateescape"))
    path = (folder or cache_folder()) / f"templates-{name.hexdigest()[:32]}.json"
    known = read_template_facts(path, key)
    compiled = bytecode_cache(folder or cache_folder())
    if known is not None:
        return TextRenderer(catalog, known, compiled)
    renderer = TextRenderer(catalog, bytecode_cache=compiled)
    analysed = renderer.template_facts()
    document = {
        "key": key,
        "facts": {
            guide_id: {n: None if f is None else f.to_json() for n, f in by_name.items()}
            for guide_id, by_name in analysed.items()
        },
    }
    _write_private(path, json.dumps(document, ensure_ascii=False).encode("utf-8"))
    return renderer
