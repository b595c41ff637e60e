"""A browser build of the ZAF SDK from its npm package, for the local harness.

`zendesk_app_framework_sdk@2.0.11` on npm ships only CommonJS sources (`lib/*.js`); the
minified file Zendesk serves from its CDN is built from them with a CommonJS bundler.
`bundle_zaf_sdk` does the same with a tiny module loader: the code that runs in the app's
iframe is the SDK's own source, unchanged, exposed as `window.ZAFClient`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from tooling.app_package import APP_DIR

__all__ = ["SDK_DIR", "SDK_PATH", "bundle_zaf_sdk"]

SDK_DIR = APP_DIR / "node_modules" / "zendesk_app_framework_sdk"
# The CDN path of the production SDK (https://static.zdassets.com + SDK_PATH).
SDK_PATH = "/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"

_LOADER = """
  var cache = {};
  function resolve(from, request) {
    var parts = from.split('/').slice(0, -1);
    request.split('/').forEach(function (part) {
      if (part === '..') {
        parts.pop();
      } else if (part !== '.' && part !== '') {
        parts.push(part);
      }
    });
    return parts.join('/').replace(/\\.js$/, '');
  }
  function load(name) {
    if (cache[name]) { return cache[name].exports; }
    var define = definitions[name];
    if (!define) { throw new Error('zaf_sdk bundle: no module ' + name); }
    var module = cache[name] = { exports: {} };
    define.call(module.exports, module, module.exports, function (request) {
      return load(resolve(name, request));
    });
    return module.exports;
  }
"""


@lru_cache(maxsize=4)
def bundle_zaf_sdk(sdk_dir: Path = SDK_DIR) -> str:
    """Return JavaScript defining `window.ZAFClient` from the package's `lib/` sources."""
    lib = sdk_dir / "lib"
    if not (lib / "index.js").is_file():
        raise FileNotFoundError(
            f"{lib / 'index.js'} not found; run `npm ci` in {sdk_dir.parent.parent}"
        )
    version = json.loads((sdk_dir / "package.json").read_text(encoding="utf-8"))["version"]
    parts = [
        f"/* zendesk_app_framework_sdk {version} (npm lib/, bundled by tooling/harness/sdk.py) */",
        "(function () {",
        "  var definitions = {};",
    ]
    for path in sorted(lib.rglob("*.js")):
        name = path.relative_to(lib).with_suffix("").as_posix()
        source = path.read_text(encoding="utf-8")
        parts.append(
            f"  definitions[{json.dumps(name)}] = function (module, exports, require) {{\n"
            f"{source}\n  }};"
        )
    parts.append(_LOADER)
    parts.append("  window.ZAFClient = load('index');")
    parts.append("}());")
    return "\n".join(parts) + "\n"
