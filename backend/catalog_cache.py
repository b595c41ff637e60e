"""A per-user cache of the validated guide catalog, so `guidepost explain` skips YAML and pydantic.

The key is the sha256 of everything the catalog is made of: every file `load_catalog`
reads (fields.yaml, labels.yaml, each <guide>/guide.yaml, by name and content), the
folder as given and resolved, the source of the modules whose classes the pickle holds,
and the Guidepost, Python and pydantic versions. A changed file makes a new key, so an
entry is never stale; a file that does not start with its key, or does not unpickle into
a GuideCatalog, is ignored and rewritten. The cache lives in the user's cache folder
($XDG_CACHE_HOME/guidepost, else ~/.cache/guidepost), never in the repo. Only the owner
may write it (folder 0700, file checked), since a pickle is code.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

from backend import __version__
from backend.domain import fields as fields_module
from backend.domain import guides as guides_module
from backend.domain.guides import GuideCatalog, catalog_files

FORMAT = b"guidepost-catalog-v2"
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
    sources = [Path(str(module.__file__)) for module in MODEL_MODULES]
    for path in [*sources, *catalog_files(root)]:
        digest.update(b"\0" + str(path).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


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
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".catalog-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(header + body)
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
