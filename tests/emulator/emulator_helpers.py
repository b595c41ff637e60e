"""HTTP helper shared by the emulator tests (a module name unique across test folders)."""

from __future__ import annotations

from typing import Any

import requests


class Api:
    """A thin requests wrapper that prefixes /api/v2 and closes every response."""

    def __init__(self, base: str, session: requests.Session) -> None:
        self.base = base
        self.session = session

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request; read the body so the connection goes back to the pool."""
        url = path if path.startswith("http") else f"{self.base}{path}"
        kwargs.setdefault("timeout", 10)
        with self.session.request(method, url, **kwargs) as response:
            _ = response.content
            return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET under /api/v2 (or an absolute URL)."""
        return self.call("GET", self._api(path), **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        """PUT under /api/v2."""
        return self.call("PUT", self._api(path), **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """POST under /api/v2."""
        return self.call("POST", self._api(path), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """DELETE under /api/v2."""
        return self.call("DELETE", self._api(path), **kwargs)

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the /__emulator control API."""
        return self.call(method, f"/__emulator{path}", **kwargs)

    @staticmethod
    def _api(path: str) -> str:
        """Prefix relative paths with /api/v2."""
        return path if path.startswith("http") else f"/api/v2{path}"
