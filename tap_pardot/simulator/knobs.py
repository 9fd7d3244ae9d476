"""Every behaviour switch of the simulator, with its default (docs/simulator.md lists them)."""

from __future__ import annotations

import copy
import threading
from typing import Any

# The objects of issue #10 and their default record counts (a data knob each).
OBJECTS_10_COUNTS: dict[str, int] = {
    "custom_redirects": 12, "dynamic_contents": 12, "dynamic_content_variations": 30,
    "email_templates": 12, "engagement_studio_programs": 12, "external_activities": 200,
    "files": 12, "folders": 12, "folder_contents": 40, "form_fields": 40, "form_handlers": 12,
    "form_handler_fields": 30, "landing_pages": 12, "layout_templates": 12,
    "lifecycle_stages": 6, "list_emails": 12, "tagged_objects": 40, "tracker_domains": 12,
    "imports": 12, "account": 1,
}
OBJECTS_10 = tuple(OBJECTS_10_COUNTS)

DEFAULT_KNOBS: dict[str, Any] = {
    # Account and clock
    "timezone": "America/New_York",
    "clock_start": "2025-11-20T12:00:00+00:00",
    "clock_rate": 1.0,  # simulated seconds per real second; 0 freezes the clock
    "data_start": "2025-09-15T00:00:00+00:00",
    # Data sizes and shapes (read once, when the simulator is built)
    "visitor_activities": {"count": 2500, "clump_size": 1200},
    "prospects": {"count": 1200, "clump_size": 250},
    "list_memberships": {"count": 1500, "clump_size": 250},
    "visitors": {"count": 1000, "clump_size": 0},
    "prospect_accounts": {"count": 300, "clump_size": 0},
    "campaigns": {"count": 20, "clump_size": 0},
    "lists": {"count": 30, "clump_size": 0},
    "users": {"count": 10, "clump_size": 0},
    "tags": {"count": 15, "clump_size": 0},
    "custom_fields": {"count": 12, "clump_size": 0},  # 12: custom.DEFINITIONS
    "opportunities": {"count": 60, "clump_size": 0},
    "forms": {"count": 25, "clump_size": 0},
    "emails": {"count": 150, "clump_size": 0},
    "visits": {"count": 200, "clump_size": 0},
    "visitor_page_views": {"count": 300, "clump_size": 0},
    "lifecycle_histories": {"count": 120, "clump_size": 0},
    # The objects of issue #10 (small: one page each by default)
    **{name: {"count": n, "clump_size": 0} for name, n in OBJECTS_10_COUNTS.items()},
    "deleted_fraction": 0.05,
    "updated_fraction": 0.3,
    "out_of_order_fraction": 0.02,
    "dst_fraction": 0.02,
    # Credentials
    "client_id": "sim-client-id",
    "client_secret": "sim-client-secret",
    "refresh_token": "sim-refresh-token",
    "business_unit_id": "0Uv000000000001AAA",
    "username": "sim@example.com",
    "email": "sim@example.com",
    "password": "sim-password",
    "user_key": "0123456789abcdef0123456789abcdef",
    "jwt_public_key_pem": None,
    # Tokens and legacy api keys
    "token_ttl_seconds": 7200,  # simulated seconds an access token stays valid
    "token_max_calls": 0,  # API calls an access token / api key serves; 0 = unlimited
    "token_include_expires_in": False,
    "api_key_ttl_seconds": 3600,
    "legacy_api_key_retired": False,  # login answers 199 (api_key auth retired)
    "account_api_version": None,  # 3 or 4: the other version answers 88 / 89
    # Field-level feature flags (pardot-api.md 3d): off = the fields do not exist
    "feature_prospect_extended_fields": True,  # the 18 extended prospect fields
    "feature_do_not_sell": True,  # prospects and visitors doNotSell
    "feature_selective_sync": True,  # custom-fields isAnalyticsSynced
    # Limits and faults
    "max_concurrent_requests": 5,  # 0 = off
    "daily_call_limit": 0,  # 0 = off
    "downloads_count_toward_limit": True,
    "return_api_usage": True,  # answer `X-Return-Api-Usage: 1` with `x-api-usage` (3P)
    "latency_ms": 0,
    "fault_5xx_rate": 0.0,
    "fault_5xx_count": 0,  # the next N API calls answer 5xx (decrements)
    "fault_5xx_after_calls": 0,  # every API call after the first N answers 5xx (0 = off)
    "fault_malformed_count": 0,  # the next N API calls answer 200 with cut-off JSON
    "fault_5xx_statuses": [500, 502, 503, 504],
    "query_timeout_range_days": 0,  # a query whose date range is longer times out (0 = off)
    "query_timeout_rows": 0,  # a query matching more records (from where it stands): same
    "query_timeout_reply": "504",  # "504" (a gateway's HTML page) or "214" (Pardot's error)
    "download_drop_rate": 0.0,
    "download_drop_count": 0,  # the next N downloads drop part-way (decrements)
    "download_drop_fraction": 0.5,
    # v5 query
    "v5_default_limit": 200,
    "v5_max_limit": 1000,
    "v5_page_token_cap": 100000,
    "v5_page_token_ttl_seconds": 14400,
    "v5_max_filtered_fields": 3,
    "v5_page_token_cap_warning_code": 203,  # 203 (current docs) or 101 (SRV 2023)
    "v5_read_array_custom_fields": "error",  # read by id: "error" (51) or "array"
    "v5_deleted_without_recycle_bin": "ignored",  # `deleted` on such objects: or "error"
    "v5_unknown_parameter": "error",  # an unknown query parameter: "error" (51) or "ignored"
    "v5_prospect_string_fields": [],  # prospect fields served as strings, e.g. AB's
    # ["score", "assignedToId"]; [] = SRV's Integer
    "v5_error_status": {"default": 400, "49": 401, "184": 401, "66": 429, "122": 429,
                        "404": 404},
    # v3/v4 query
    "v3_max_limit": 200,
    "v3_limit_over_max": "error",  # "error" (code 23) or "clamp"
    "v3_bounds_inclusive": False,
    "v3_sort_by_lenient": False,  # accept any of id/created_at/updated_at on every object
    "v3_result_null_when_empty": False,
    "v3_error_status": {"default": 400, "1": 401, "184": 401, "49": 401},
    "v3_error_content_type": "application/json; charset=utf-8",  # of JSON errors
    "v3_deleted_all": "error",  # deleted=all: "error" (27), "true" or "ignored"
    # Export API (docs/simulator.md, "Export API knobs": readings and sources)
    "export_waiting_seconds": 0.2,
    "export_processing_seconds": 0.2,
    "export_rows_per_second": 0,  # > 0 adds rows / rate to the processing time
    "export_time_scale": 1.0,  # multiplies every export's waiting and processing time
    "export_failure_rate": 0.0,
    "export_failure_count": 0,  # the next N exports fail (decrements)
    "export_rows_per_file": 1000,
    "export_max_files": 40,
    "export_expiry_days": 7,
    "export_cancel_after_days": 7,
    "export_max_fields": 150,
    "export_max_range": "1 year",  # "1 year" (calendar) or a number of days
    "export_bounds_inclusive": False,
    "export_max_file_size_cap": 200_000_000,  # v5 maxFileSizeBytes: account cap (232 above)
    "export_multi_value_format": "semicolon",  # multi-value custom fields: `a;b` or "json"
    "export_csv_formula_escape": True,  # `=`, `+`, `@` first: a backslash in front
    "export_array_custom_fields": "allowed",  # or "refused" (180)
    "export_prospect_grade_notes": "exportable",  # or "refused" (the 2020 docs)
    # v3/v4 export replies and arguments
    "export_reply_wrapped": False,  # {"export": {...}} (the docs' schema blocks)
    "export_result_refs_key": "resultRefs",  # the 2020 schema blocks say "resultsRef"
    "export_v3_default_deleted": "false",  # prospect/list membership without deleted: or "all"
    "export_prospect_deleted_must_be_all": False,  # the 2020 docs' reading
    # v5 exports
    "export_v5_create_status": 201,  # or 200
    "export_missing_fields_param": "error",  # no ?fields=: 400, or "id_only"
    "export_v5_empty_result_refs": "empty",  # Complete without files: [], "null", "absent"
    "export_v5_object_property": "error",  # `object` in the body: 154, or "ignored"
    "export_v5_procedure_case": "sensitive",  # or "insensitive"
    "export_v5_snake_case_arguments": "error",  # 175, or "alias"
    "export_v5_csv_dates": "naive",  # account-timezone `YYYY-MM-DD HH:MM:SS`, or "offset"
    "export_v5_csv_booleans": "text",  # true/false, or "digits" (1/0)
    "export_v5_csv_headers": "v5",  # names as requested, or "pre_v5" (v3/v4 names)
    "export_generic_procedures": False,  # feature.api.version_5_export_all
    "export_prospect_last_activity": False,  # Prospect/FilterByLastActivity's flag
    "export_email_procedure": False,  # Email/FilterByUpdatedAt's flag
    "export_v3_external_activities": "refused",  # "refused" (SRV 2023) or "served" (seed 003)
    "custom_fields_error_code": None,  # e.g. 46 or 49: the custom-fields object answers it
    # Form fields' and folder contents' filters and sorts (not in the 2023 definitions):
    # "airbyte" (updatedAt, as AB uses them) or "amp_labs" (createdAt / none: its map)
    "v5_added_objects_dates": "airbyte",
    # Where external activities are queried: "top" (/api/v5/external-activities, today's
    # docs) or "objects" (/api/v5/objects/external-activities, the 2023 framework)
    "v5_external_activities_path": "top",
    # engagement programs' v5 path (open question 17): "documented" (engagement-studio-
    # programs: the docs, AB) or "internal" (engagement-programs: SRV 2023 perf configs)
    "v5_engagement_programs_path": "documented",
    "v5_pre_rename_fields": True,  # the 2023 names beside today's (False: old names are 51)
    # v3/v4-only objects and list email stats (legacy_extras.py; docs/simulator.md)
    "email_clicks": {"count": 300, "clump_size": 0},
    "list_email_stats_rates": "number",  # v5 stats rates: 12.5, or "percent_text" ("12.50%")
    # v3/v4 `created_*`/`updated_*` an object's docs do not list: "ignored" or "error" (5)
    "v3_undocumented_date_filter": "ignored",
}

DATA_KNOBS = ("visitor_activities", "prospects", "list_memberships", "visitors",
              "prospect_accounts", "campaigns", "lists", "users", "tags", "custom_fields",
              "opportunities", "forms", "emails", "visits", "visitor_page_views",
              "lifecycle_histories", *OBJECTS_10, "email_clicks",
              "deleted_fraction", "updated_fraction", "out_of_order_fraction", "dst_fraction",
              "data_start")


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge update over a copy of base; unknown keys are rejected."""
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if key not in out:
            raise KeyError(f"unknown knob: {key}")
        if isinstance(out[key], dict) and isinstance(value, dict):
            merged = dict(out[key])
            merged.update(value)
            out[key] = merged
        else:
            out[key] = value
    return out


class Knobs:
    """Thread-safe knob holder with runtime partial updates."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._values = merge(DEFAULT_KNOBS, overrides or {})

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._values)

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._values = merge(self._values, changes)
            return copy.deepcopy(self._values)

    def take(self, key: str) -> bool:
        """Decrement a counting knob (e.g. fault_5xx_count); True if one was available."""
        with self._lock:
            if self._values.get(key, 0) > 0:
                self._values[key] -= 1
                return True
            return False
