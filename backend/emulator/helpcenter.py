"""Help Center articles and the two users every emulator request sees."""

from __future__ import annotations

from backend.emulator.shapes import (
    AGENT_ID,
    CUSTOMER_ID,
    JSON,
    make_not_found,
)
from backend.emulator.state import StoreBase


class HelpCenterMixin(StoreBase):
    """Articles and users."""

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

    # ------------------------------------------------------------------ users

    def get_current_user(self, *, base_url: str | None = None) -> JSON:
        """Return the agent every request authenticates as."""
        return self._render_user(AGENT_ID, self._resolve_base(base_url))

    def get_user(self, user_id: int, *, base_url: str | None = None) -> JSON:
        """Return the agent or the demo customer (404 ApiError otherwise)."""
        if int(user_id) not in (AGENT_ID, CUSTOMER_ID):
            raise make_not_found()
        return self._render_user(int(user_id), self._resolve_base(base_url))
