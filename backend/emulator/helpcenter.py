"""Help Center articles."""

from __future__ import annotations

from backend.emulator.shapes import (
    JSON,
    make_not_found,
)
from backend.emulator.state import StoreBase


class HelpCenterMixin(StoreBase):
    """Articles."""

    # --------------------------------------------------------------- articles

    def set_article(self, article_id: int, locale: str, title: str, body: str) -> JSON:
        """Create or replace a Help Center article translation; bumps updated_at."""
        with self._lock:
            translations = self._state.articles.setdefault(int(article_id), {})
            key = locale.lower()
            record = translations.get(key)
            if record is None:
                now = self._now()
                record = {
                    "id": int(article_id),
                    "locale": key,
                    "title": title,
                    "body": body,
                    "created_at": now,
                    "updated_at": now,
                }
                translations[key] = record
            else:
                record["title"] = title
                record["body"] = body
                self._bump(record)
            return self._render_article(record, translations, self._resolve_base(None))

    def get_article(
        self, article_id: int, locale: str | None = None, *, base_url: str | None = None
    ) -> JSON:
        """Return an article in a locale (its source locale when None); 404 if unknown."""
        with self._lock:
            translations = self._state.articles.get(int(article_id))
            if not translations:
                raise make_not_found()
            record = (
                next(iter(translations.values()))
                if locale is None
                else translations.get(locale.lower())
            )
            if record is None:
                raise make_not_found()
            return self._render_article(record, translations, self._resolve_base(base_url))
