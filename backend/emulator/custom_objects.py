"""Custom objects, their fields and records (the consistent store the ledger relies on).

Shapes and rules follow Zendesk's Custom Objects API:
https://developer.zendesk.com/api-reference/custom-data/custom-objects/custom_objects/
https://developer.zendesk.com/api-reference/custom-data/custom-objects/custom_object_fields/
https://developer.zendesk.com/api-reference/custom-data/custom-objects/custom_object_records/
Error bodies use the `{"errors": [{code, status, title, detail}]}` shape of the newer
Zendesk APIs (checked against a real account by `make test-live`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from backend.emulator.shapes import JSON, ApiError, format_iso
from backend.emulator.state import StoreBase

__all__ = ["CustomObjectsMixin", "make_custom_object_error"]

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RECORD_FIELD_TYPES = frozenset(
    {"text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "dropdown", "lookup"}
)
MAX_FILTER_IDS = 100


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def record_id(created_at: int, serial: int) -> str:
    """A record id that is a string and no number: 26 characters, shaped as a ULID.

    The API documents the id only as "string … Automatically assigned upon creation",
    so nothing may read it as a number. Time first (milliseconds), then a serial where a
    ULID has random bits: ids created later sort after earlier ones as text.
    """
    value = ((created_at * 1000) << 80) | serial
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def make_custom_object_error(status: int, code: str, title: str, detail: str) -> ApiError:
    """An error in the custom objects API's shape."""
    return ApiError(
        status,
        {"errors": [{"code": code, "status": str(status), "title": title, "detail": detail}]},
    )


def _not_found(what: str) -> ApiError:
    return make_custom_object_error(404, "NotFound", "Not Found", f"{what} not found")


def _invalid(detail: str) -> ApiError:
    return make_custom_object_error(422, "RecordInvalid", "Record Invalid", detail)


class CustomObjectsMixin(StoreBase):
    """Custom object endpoints: objects, their fields, records (create, list, delete)."""

    unique_external_ids: bool

    # ----------------------------------------------------------------- objects

    def create_custom_object(self, data: Any, *, base_url: str | None = None) -> JSON:
        """POST /custom_objects: key, title and title_pluralized are required; keys unique."""
        if not isinstance(data, dict):
            raise _invalid("custom_object must be an object")
        key, title = data.get("key"), data.get("title")
        plural = data.get("title_pluralized")
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise _invalid("key must be lowercase letters, digits and underscores")
        for name, value in (("title", title), ("title_pluralized", plural)):
            if not isinstance(value, str) or not value.strip():
                raise _invalid(f"{name} cannot be blank")
        with self._lock:
            if key in self._state.custom_objects:
                raise _invalid(f"key {key!r} is already taken")
            now = self._now()
            record: JSON = {
                "key": key,
                "title": title,
                "title_pluralized": plural,
                "description": data.get("description") or "",
                "fields": [],
                "records": {},
                "created_at": now,
                "updated_at": now,
            }
            self._state.custom_objects[key] = record
            return self._render_custom_object(record, self._resolve_base(base_url))

    def get_custom_object(self, key: str, *, base_url: str | None = None) -> JSON:
        """GET /custom_objects/{key}."""
        with self._lock:
            return self._render_custom_object(self._object(key), self._resolve_base(base_url))

    def list_custom_objects(self, *, base_url: str | None = None) -> list[JSON]:
        """GET /custom_objects."""
        with self._lock:
            base = self._resolve_base(base_url)
            return [
                self._render_custom_object(o, base)
                for _, o in sorted(self._state.custom_objects.items())
            ]

    def delete_custom_object(self, key: str) -> None:
        """DELETE /custom_objects/{key} (with its fields and records)."""
        with self._lock:
            self._object(key)
            del self._state.custom_objects[key]

    # ------------------------------------------------------------------ fields

    def create_custom_object_field(
        self, key: str, data: Any, *, base_url: str | None = None
    ) -> JSON:
        """POST /custom_objects/{key}/fields: type, key and title required; keys unique."""
        if not isinstance(data, dict):
            raise _invalid("custom_object_field must be an object")
        field_type, field_key, title = data.get("type"), data.get("key"), data.get("title")
        if field_type not in RECORD_FIELD_TYPES:
            raise _invalid(f"type must be one of {', '.join(sorted(RECORD_FIELD_TYPES))}")
        if not isinstance(field_key, str) or not _KEY_RE.match(field_key):
            raise _invalid("key must be lowercase letters, digits and underscores")
        if not isinstance(title, str) or not title.strip():
            raise _invalid("title cannot be blank")
        with self._lock:
            obj = self._object(key)
            if any(f["key"] == field_key for f in obj["fields"]):
                raise _invalid(f"field key {field_key!r} is already taken")
            now = self._now()
            record: JSON = {
                "id": self._state.next_custom_object_field_id,
                "key": field_key,
                "type": field_type,
                "title": title,
                "description": data.get("description") or "",
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            self._state.next_custom_object_field_id += 1
            obj["fields"].append(record)
            return self._render_object_field(key, record, self._resolve_base(base_url))

    def list_custom_object_fields(self, key: str, *, base_url: str | None = None) -> list[JSON]:
        """GET /custom_objects/{key}/fields."""
        with self._lock:
            obj = self._object(key)
            base = self._resolve_base(base_url)
            return [self._render_object_field(key, f, base) for f in obj["fields"]]

    # ----------------------------------------------------------------- records

    def create_custom_object_record(
        self, key: str, data: Any, *, base_url: str | None = None
    ) -> JSON:
        """POST /custom_objects/{key}/records; external_id unique when the account enforces it.

        Zendesk: "The `external_id` must be unique for each custom object record"
        (https://support.zendesk.com/hc/en-us/articles/6687271605786). The store can be
        built with `unique_external_ids=False` to prove the ledger protocol does not
        depend on it.
        """
        if not isinstance(data, dict):
            raise _invalid("custom_object_record must be an object")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _invalid("name cannot be blank")
        external_id = data.get("external_id")
        if external_id is not None and not isinstance(external_id, str):
            raise _invalid("external_id must be a string")
        values = data.get("custom_object_fields") or {}
        if not isinstance(values, dict):
            raise _invalid("custom_object_fields must be an object")
        with self._lock:
            obj = self._object(key)
            known = {f["key"] for f in obj["fields"]}
            unknown = sorted(set(values) - known)
            if unknown:
                raise _invalid(f"unknown custom_object_fields: {', '.join(unknown)}")
            if (
                self.unique_external_ids
                and external_id is not None
                and any(r["external_id"] == external_id for r in obj["records"].values())
            ):
                raise _invalid(f"external_id {external_id!r} is already taken")
            now = self._now()
            record: JSON = {
                "id": record_id(now, self._state.next_custom_object_record_id),
                "name": name,
                "external_id": external_id,
                "custom_object_fields": {k: copy.deepcopy(values.get(k)) for k in sorted(known)},
                "created_at": now,
                "updated_at": now,
            }
            self._state.next_custom_object_record_id += 1
            obj["records"][record["id"]] = record
            return self._render_record(key, record, self._resolve_base(base_url))

    def list_custom_object_records(
        self,
        key: str,
        *,
        external_ids: list[str] | None = None,
        ids: list[str] | None = None,
        base_url: str | None = None,
    ) -> list[JSON]:
        """GET /custom_objects/{key}/records[?filter[external_ids]=…]: a database read.

        Consistent, unlike search: a record is listed as soon as its create answered.
        """
        for given in (external_ids, ids):
            if given is not None and len(given) > MAX_FILTER_IDS:
                raise _invalid(f"at most {MAX_FILTER_IDS} ids per filter")
        with self._lock:
            obj = self._object(key)
            base = self._resolve_base(base_url)
            found = [
                r
                for r in obj["records"].values()  # in creation order
                if (external_ids is None or r["external_id"] in external_ids)
                and (ids is None or str(r["id"]) in ids)
            ]
            return [self._render_record(key, r, base) for r in found]

    def delete_custom_object_record(self, key: str, record_id: str) -> None:
        """DELETE /custom_objects/{key}/records/{id}: 204, 404 when already gone."""
        with self._lock:
            obj = self._object(key)
            if obj["records"].pop(str(record_id), None) is None:
                raise _not_found("custom object record")

    # --------------------------------------------------------------- internals

    def _object(self, key: str) -> JSON:
        """The stored custom object, or Zendesk's 404."""
        obj: JSON | None = self._state.custom_objects.get(key)
        if obj is None:
            raise _not_found("custom object")
        return obj

    @staticmethod
    def _render_custom_object(obj: JSON, base: str) -> JSON:
        return {
            "url": f"{base}/api/v2/custom_objects/{obj['key']}.json",
            "key": obj["key"],
            "title": obj["title"],
            "raw_title": obj["title"],
            "title_pluralized": obj["title_pluralized"],
            "raw_title_pluralized": obj["title_pluralized"],
            "description": obj["description"],
            "raw_description": obj["description"],
            "created_at": format_iso(obj["created_at"]),
            "updated_at": format_iso(obj["updated_at"]),
        }

    @staticmethod
    def _render_object_field(key: str, field: JSON, base: str) -> JSON:
        return {
            "url": f"{base}/api/v2/custom_objects/{key}/fields/{field['id']}.json",
            "id": field["id"],
            "key": field["key"],
            "type": field["type"],
            "title": field["title"],
            "raw_title": field["title"],
            "description": field["description"],
            "raw_description": field["description"],
            "active": field["active"],
            "system": False,
            "created_at": format_iso(field["created_at"]),
            "updated_at": format_iso(field["updated_at"]),
        }

    @staticmethod
    def _render_record(key: str, record: JSON, base: str) -> JSON:
        return {
            "url": f"{base}/api/v2/custom_objects/{key}/records/{record['id']}.json",
            "id": record["id"],
            "name": record["name"],
            "external_id": record["external_id"],
            "custom_object_key": key,
            "custom_object_fields": copy.deepcopy(record["custom_object_fields"]),
            "created_by_user_id": "1001001",
            "updated_by_user_id": "1001001",
            "created_at": format_iso(record["created_at"]),
            "updated_at": format_iso(record["updated_at"]),
        }
