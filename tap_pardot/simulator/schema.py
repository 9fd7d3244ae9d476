"""Streams the simulator serves: field names and types, and their names in each API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def camel(name: str) -> str:
    """snake_case -> lowerCamelCase (`address_one` -> `addressOne`)."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _f(kind: str, names: str) -> list[tuple[str, str]]:
    return [(n.strip(), kind) for n in names.split(",") if n.strip()]


# Pre-v5 (v3/v4 export) names that are not snake_case of the v5 name: the `preVersion5Field`
# overrides of SRV `config/objects/*/schema.yaml` (pardot-api.md section 6).
_ARCHIVED = {"is_deleted": "is_archived"}
PRE_V5_OVERRIDES: dict[str, dict[str, str]] = {
    "prospects": {**_ARCHIVED, "salesforce_id": "salesforce_fid",
                  "salesforce_lead_id": "crm_lead_fid", "salesforce_contact_id": "crm_contact_fid",
                  "salesforce_account_id": "crm_account_fid",
                  "salesforce_owner_id": "crm_owner_fid",
                  "salesforce_campaign_id": "crm_campaign_fid",
                  "salesforce_last_sync": "crm_last_sync"},
    "forms": {**_ARCHIVED, "salesforce_id": "salesforce_fid"},
    "form_handlers": {**_ARCHIVED, "salesforce_id": "salesforce_fid"},
    "files": {"salesforce_id": "salesforce_fid"},
    "imports": {"status": "state"},
    **{n: _ARCHIVED for n in ("list_memberships", "visitors", "prospect_accounts", "campaigns",
                              "lists", "users", "custom_redirects", "dynamic_contents",
                              "email_templates", "layout_templates", "lifecycle_stages",
                              "list_emails", "tracker_domains")},
}

# Fields that exist only for accounts with a feature flag (SRV schema.yaml `featureFlags`;
# pardot-api.md section 3d): field -> the knob that plays the flag.
_EXTENDED = ("campaign_parameter, content_parameter, converted_at, converted_from_object_name, "
             "converted_from_object_type, email_bounced_at, email_bounced_reason, "
             "first_activity_at, first_assigned_at, first_referrer_query, first_referrer_type, "
             "first_referrer_url, grade, is_email_hard_bounced, medium_parameter, notes, "
             "source_parameter, term_parameter")
FLAGGED: dict[str, dict[str, str]] = {
    "prospects": {**{n.strip(): "feature_prospect_extended_fields" for n in _EXTENDED.split(",")},
                  "do_not_sell": "feature_do_not_sell"},
    "visitors": {"do_not_sell": "feature_do_not_sell"},
    "custom_fields": {"is_analytics_synced": "feature_selective_sync"},
    # Names of the 2023 definitions renamed since (pardot-api.md open question 22): knob
    # `v5_pre_rename_fields` (true: both names served; false: the old one is unknown).
    "list_emails": {"operational_email": "v5_pre_rename_fields"},
    "tagged_objects": {"target_id": "v5_pre_rename_fields",
                       "target_object_type": "v5_pre_rename_fields"},
}

# Fields left out of a v3/v4 export without `fields` (SRV `preVersion5ExportDefault: false`).
EXPORT_NOT_DEFAULT: dict[str, tuple[str, ...]] = {
    "prospects": (*FLAGGED["prospects"], "assigned_to_id", "profile_id", "salesforce_url",
                  "lifecycle_stage_id", "recent_interaction"),
    "visitors": ("do_not_sell",),
}

# v5 query: sortable fields, and filterable fields (SRV `gen/endpoint/*QueryEndpointDefinition
# Provider.php`, as listed in pardot-v5-objects.md; tags: AB only). A filter on an int field
# takes the range ops, on a dt field the date ops, on str/bool (or a name ending in `=`) only
# the exact `X=`; V5_NULLABLE fields also take `XIsNull` / `XIsNotNull`.
_DATES = "id, created_at, updated_at"
V5_SORT: dict[str, str] = {
    "visitor_activities": _DATES, "prospects": "id, created_at, last_activity_at, updated_at",
    "list_memberships": "id, list_id, created_at, updated_at",
    "visitors": "id, prospect_id, created_at, updated_at", "prospect_accounts": "id, salesforce_id",
    "campaigns": _DATES, "lists": _DATES, "users": _DATES, "tags": _DATES,
    "custom_fields": _DATES, "opportunities": "id, closed_at, created_at, updated_at",
    "forms": "id", "emails": "id, sent_at, prospect_id",
    "visits": "id, prospect_id, created_at, updated_at",
    "visitor_page_views": "id, created_at, visitor_id, visit_id",
    "lifecycle_histories": "id, created_at",
    "custom_redirects": "id", "dynamic_contents": _DATES, "dynamic_content_variations": "id",
    "email_templates": _DATES, "engagement_studio_programs": _DATES, "external_activities": "id",
    "files": "id", "folders": "id", "form_handlers": _DATES,
    "form_handler_fields": "id, form_handler_id, created_at", "landing_pages": _DATES,
    "layout_templates": "id", "lifecycle_stages": _DATES,
    "list_emails": _DATES + ", sent_at", "tagged_objects": "id", "tracker_domains": "id",
    "imports": _DATES,
    # Objects added after 2023: what Airbyte sends (`updatedAt` filters and sort), and `id`.
    "form_fields": "id, updated_at", "folder_contents": "id, updated_at",
    "account": "",
}
V5_FILTERS: dict[str, str] = {
    "visitor_activities": _DATES + ", prospect_id, type, visitor_id",
    "prospects": _DATES + ", email, last_activity_at, salesforce_id, user_id, assigned_to_id",
    "list_memberships": _DATES + ", list_id, prospect_id=",
    "visitors": _DATES + ", prospect_id, is_identified", "prospect_accounts": "id",
    "campaigns": _DATES + ", name", "lists": _DATES + ", name", "users": _DATES + ", email",
    "tags": _DATES, "custom_fields": _DATES, "opportunities": _DATES + ", closed_at",
    "forms": "id", "emails": "id, sent_at, prospect_id, list_email_id",
    "visits": _DATES + ", visitor_id, prospect_id",
    "visitor_page_views": "id, created_at, visitor_id, visit_id",
    "lifecycle_histories": "id, created_at",
    "custom_redirects": "id", "dynamic_contents": _DATES,
    "dynamic_content_variations": "id, dynamic_content_id",
    "email_templates": _DATES + ", is_one_to_one_email", "engagement_studio_programs": _DATES,
    "external_activities": "id, activity_date, created_at", "files": "id",
    "folders": "id, parent_folder_id", "form_handlers": _DATES,
    "form_handler_fields": "id, form_handler_id, created_at", "landing_pages": _DATES,
    "layout_templates": "id", "lifecycle_stages": _DATES, "list_emails": _DATES + ", sent_at",
    "tagged_objects": "id", "tracker_domains": "id",
    "imports": _DATES + ", status=, is_expired, origin=",
    "form_fields": "id, updated_at", "folder_contents": "id, updated_at",
    "account": "",
}
# The other reading of the objects added after 2023 (knob `v5_added_objects_dates`,
# "amp_labs"): the amp-labs filter map as the landscape report quotes it, form fields
# filterable by createdAt only, folder contents by nothing but id, tagged objects (no query
# in 2023: SRV's id only by default) by createdAt too (pardot-v5-objects.md; open question 26).
V5_AMP_LABS: dict[str, tuple[str, str]] = {  # stream -> (sorts, filters)
    "form_fields": ("id, created_at", "id, created_at"),
    "folder_contents": ("id", "id"),
    "tagged_objects": ("id", "id, created_at"),
}
V5_NULLABLE = {"prospects": ("user_id",), "opportunities": ("closed_at",),
               "visits": ("prospect_id",), "folders": ("parent_folder_id",)}
# Objects with a recycle bin but no isDeleted field: deleted rows are never returned (SRV
# `objects/query/ObjectQueryManager.php`).
RECYCLE_BIN_HIDDEN = ("custom_fields", "emails", "opportunities", "files", "folders")


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


@dataclass
class StreamSpec:
    name: str  # tap stream name (snake plural)
    v5_path: str
    v3_object: str
    v3_key: str  # collection key in v3/v4 JSON
    export_object: str | None
    deletable: bool  # has a recycle bin (rows can be deleted)
    fields: list[tuple[str, str]]  # (snake name, int|num|str|bool|dt|ints|objs), `id` first
    id_base: int
    v3_sort_by: tuple[str, ...] = ("created_at", "id", "updated_at")
    read_only: tuple[str, ...] = ()  # v5 fields the read endpoint serves but query refuses
    v5_url: str = ""  # a path outside /api/v5/objects/ (`/api/v5/imports`)
    custom: dict[str, str] = field(default_factory=dict)  # custom field snake -> bare fieldId
    custom_v5: bool = True  # False: the custom fields exist on v3/v4 only (prospect accounts)
    index: dict[str, int] = field(default_factory=dict, init=False)
    types: dict[str, str] = field(default_factory=dict, init=False)
    by_camel: dict[str, str] = field(default_factory=dict, init=False)  # v5 name -> snake
    flags: dict[str, str] = field(default_factory=dict, init=False)  # flagged field -> knob
    export_not_default: tuple[str, ...] = field(default=(), init=False)
    v5_sort: tuple[str, ...] = field(default=(), init=False)
    v5_filters: dict[str, str] = field(default_factory=dict, init=False)  # -> range|date|exact
    v5_nullable: tuple[str, ...] = field(default=(), init=False)
    _pre_v5: dict[str, str] = field(default_factory=dict, init=False)  # snake -> pre-v5 name
    _from_pre_v5: dict[str, str] = field(default_factory=dict, init=False)

    def rules(self, reading: str) -> tuple[tuple[str, ...], dict[str, str]]:
        """(sortable fields, filter -> range|date|exact) under a reading of the sources."""
        alt = V5_AMP_LABS.get(self.name) if reading == "amp_labs" else None
        if alt is None:
            return self.v5_sort, self.v5_filters
        kinds = {"int": "range", "dt": "date"}
        return _names(alt[0]), {n: kinds.get(self.types[n], "exact") for n in _names(alt[1])}

    def __post_init__(self) -> None:
        self.index = {n: i for i, (n, _) in enumerate(self.fields)}
        self.types = dict(self.fields)
        self.flags = FLAGGED.get(self.name, {})
        self.export_not_default = EXPORT_NOT_DEFAULT.get(self.name, ())
        over = PRE_V5_OVERRIDES.get(self.name, {})
        self.by_camel, self._pre_v5 = {}, {}
        for n, _ in self.fields:
            fid = self.custom.get(n)
            if self.custom_v5 or not fid:  # else v5 knows no such field
                self.by_camel[fid + "__c" if fid else camel(n)] = n
            self._pre_v5[n] = fid or over.get(n, n)
        self._from_pre_v5 = {v: k for k, v in self._pre_v5.items()}
        self.v5_sort = _names(V5_SORT.get(self.name, ""))  # none: no v5 path
        self.v5_filters = {}
        for n in _names(V5_FILTERS.get(self.name, "")):
            kind = {"int": "range", "dt": "date"}.get(self.types[n.rstrip("=")], "exact")
            self.v5_filters[n.rstrip("=")] = "exact" if n.endswith("=") else kind
        self.v5_nullable = V5_NULLABLE.get(self.name, ())

    @property
    def recycle_bin(self) -> bool:
        """The object has a recycle bin (whether or not it exposes isDeleted)."""
        return self.deletable or self.name in RECYCLE_BIN_HIDDEN

    def api_name(self, snake: str, version: int) -> str:
        """A field's wire name: v5 camelCase (custom: `<fieldId>__c`, its apiFieldId), or the
        pre-v5 name for 3/4 (snake_case of the v5 name unless overridden; custom: bare fieldId).
        The pre-v5 name is what v3/v4 exports accept; v3/v4 query keys are legacy.QUERY_KEYS."""
        if version == 5:
            fid = self.custom.get(snake)
            return fid + "__c" if fid else camel(snake)
        return self._pre_v5[snake]

    def from_api_name(self, name: str, version: int) -> str | None:
        """The inverse of api_name: the snake name of a wire name (exact spelling), or None."""
        return (self.by_camel if version == 5 else self._from_pre_v5).get(name)


def spec_field_available(sim: Any, spec: StreamSpec, snake: str) -> bool:
    """False when the field is behind a feature flag the account (knobs) lacks."""
    knob = spec.flags.get(snake)
    return knob is None or bool(sim.knobs[knob])


_VA = (
    _f("int", "id, campaign_id, custom_redirect_id, email_id, email_template_id, file_id, "
              "form_id, form_handler_id, landing_page_id, list_email_id, "
              "multivariate_test_variation_id, opportunity_id, paid_search_ad_id, prospect_id, "
              "site_search_query_id, visit_id, visitor_id, visitor_page_view_id, type")
    + _f("str", "type_name, details")
    + _f("dt", "created_at, updated_at")
)

_PROSPECT = (
    _f("int", "id, campaign_id, prospect_account_id, profile_id, lifecycle_stage_id, user_id, "
              "assigned_to_id, created_by_id, updated_by_id, score")
    + _f("bool", "opted_out, is_deleted, is_do_not_call, is_do_not_email, is_email_hard_bounced, "
                 "is_reviewed, is_starred, do_not_sell")
    + _f("dt", "last_activity_at, email_bounced_at, first_activity_at, first_assigned_at, "
               "converted_at, salesforce_last_sync, created_at, updated_at")
    + _f("str", "email, first_name, last_name, salutation, job_title, email_bounced_reason, "
                "source, source_parameter, campaign_parameter, medium_parameter, "
                "content_parameter, term_parameter, first_referrer_query, first_referrer_type, "
                "first_referrer_url, recent_interaction, salesforce_id, salesforce_contact_id, "
                "salesforce_lead_id, salesforce_account_id, salesforce_campaign_id, "
                "salesforce_owner_id, salesforce_url, converted_from_object_name, "
                "converted_from_object_type, grade, phone, fax, address_one, address_two, city, "
                "state, zip, country, company, annual_revenue, website, industry, department, "
                "years_in_business, employees, territory, comments, notes, password")
)

_LM = (
    _f("int", "id, list_id, prospect_id, created_by_id, updated_by_id")
    + _f("bool", "opted_out, is_deleted")
    + _f("dt", "created_at, updated_at")
)

_VISITOR = (
    _f("int", "id, prospect_id, page_view_count, campaign_id")
    + _f("bool", "is_identified, do_not_sell, is_deleted")
    + _f("str", "hostname, ip_address, campaign_parameter, content_parameter, medium_parameter, "
                "source_parameter, term_parameter")
    + _f("dt", "created_at, updated_at")
)

_PA = (
    _f("int", "id, created_by_id, updated_by_id, assigned_to_id")
    + _f("bool", "is_deleted")
    + _f("str", "name, salesforce_id, annual_revenue, billing_address_one, billing_address_two, "
                "billing_city, billing_country, billing_state, billing_zip, description, "
                "employees, fax, industry, number, ownership, phone, rating, "
                "shipping_address_one, shipping_address_two, shipping_city, shipping_country, "
                "shipping_state, shipping_zip, sic, site, ticker_symbol, type, website")
    + _f("dt", "created_at, updated_at")
)

_CAMPAIGN = (_f("int", "id, folder_id, parent_campaign_id, created_by_id, updated_by_id")
             + _f("num", "cost") + _f("bool", "is_deleted") + _f("str", "name, salesforce_id")
             + _f("dt", "created_at, updated_at"))
_LIST = (_f("int", "id, folder_id, campaign_id, created_by_id, updated_by_id")
         + _f("bool", "is_public, is_dynamic, is_salesforce_visible, is_deleted")
         + _f("str", "name, title, description") + _f("dt", "created_at, updated_at"))
_USER = (_f("int", "id, created_by_id, updated_by_id")
         + _f("bool", "is_deleted")
         + _f("str", "email, username, first_name, last_name, job_title, role, role_name, "
                     "salesforce_id, tag_replacement_language")
         + _f("dt", "created_at, updated_at"))
_TAG = (_f("int", "id, object_count, created_by_id, updated_by_id") + _f("str", "name")
        + _f("dt", "created_at, updated_at"))
_CUSTOM_FIELD = (_f("int", "id, created_by_id, updated_by_id")
                 + _f("bool", "is_record_multiple_responses, is_use_values, is_required, "
                              "is_analytics_synced")
                 + _f("str", "name, field_id, api_field_id, type, salesforce_id")
                 + _f("dt", "created_at, updated_at"))
# The objects below follow Airbyte's tested v5 field lists (pardot-api.md, section 3).
_OPPORTUNITY = (_f("int", "id, campaign_id, probability, created_by_id, updated_by_id")
                + _f("num", "value") + _f("str", "name, type, stage, status, salesforce_id")
                + _f("dt", "closed_at, created_at, updated_at"))
_VISIT = (_f("int", "id, visitor_id, prospect_id, visitor_page_view_count, duration_in_seconds")
          + _f("str", "source_parameter, campaign_parameter, medium_parameter, "
                      "content_parameter, term_parameter")
          + _f("dt", "first_visitor_page_view_at, last_visitor_page_view_at, created_at, "
                     "updated_at"))
_PAGE_VIEW = (_f("int", "id, visitor_id, campaign_id, visit_id, duration_in_seconds")
              + _f("str", "url, title, salesforce_id") + _f("dt", "created_at"))
_EMAIL = (_f("int", "id, campaign_id, prospect_id, folder_id, list_id, list_email_id, "
                    "email_template_id, tracker_domain_id, user_id, created_by_id")
          + _f("bool", "is_operational")
          + _f("str", "name, type, subject, client_type, html_message, text_message")
          + _f("objs", "sender_options, reply_to_options")  # arrays of objects (AB)
          + _f("dt", "sent_at"))
_FORM = (_f("int", "id, campaign_id, layout_template_id, folder_id, tracker_domain_id, "
                   "created_by_id, updated_by_id")
         + _f("bool", "is_deleted, is_use_redirect_location, is_always_display, is_cookieless, "
                      "is_captcha_enabled, show_not_prospect")
         + _f("str", "name, salesforce_id, embed_code, submit_button_text, before_form_content, "
                     "after_form_content, thank_you_content, thank_you_code, redirect_location, "
                     "font_size, font_family, font_color, label_alignment, radio_alignment, "
                     "checkbox_alignment, required_character")
         + _f("dt", "created_at, updated_at"))
_LIFECYCLE = (_f("int", "id, prospect_id, previous_stage_id, next_stage_id, seconds_elapsed")
              + _f("dt", "created_at"))

# The objects below: pardot-v5-objects.md (SRV 2023 field lists, plus the fields Airbyte reads
# today); nested objects other than sender/reply-to options (engagement programs' schedule,
# business hours, looping) are left out.
_CUSTOM_REDIRECT = (_f("int", "id, folder_id, campaign_id, tracker_domain_id, created_by_id, "
                              "updated_by_id")
                    + _f("bool", "bitly_is_personalized, is_deleted")
                    + _f("str", "name, salesforce_id, destination_url, vanity_url_path, "
                                "vanity_url, tracked_url, url, ga_source, ga_medium, ga_term, "
                                "ga_content, ga_campaign, bitly_short_url")
                    + _f("dt", "created_at, updated_at"))
_DYNAMIC_CONTENT = (_f("int", "id, folder_id, tracker_domain_id, created_by_id, updated_by_id")
                    + _f("bool", "is_deleted")
                    + _f("str", "name, based_on, based_on_prospect_api_field_id, embed_code, "
                                "embed_url, tag_replacement_language, base_content")
                    + _f("dt", "created_at, updated_at"))
_VARIATION = (_f("int", "id, dynamic_content_id")
              + _f("str", "comparison, content, operator, value1, value2"))
_EMAIL_TEMPLATE = (_f("int", "id, tracker_domain_id, campaign_id, folder_id, created_by_id, "
                             "updated_by_id")
                   + _f("bool", "is_one_to_one_email, is_auto_responder_email, is_drip_email, "
                                "is_list_email, is_deleted")
                   + _f("str", "name, subject, type, html_message, text_message")
                   + _f("objs", "sender_options, reply_to_options")
                   + _f("dt", "created_at, updated_at"))
_PROGRAM = (_f("int", "id, folder_id, schedule_created_by_id, created_by_id, updated_by_id")
            + _f("bool", "is_deleted")
            + _f("str", "name, status, description, timezone, salesforce_id")
            + _f("ints", "recipient_list_ids, suppression_list_ids")  # arrays of list ids
            + _f("dt", "created_at, updated_at"))
_EXTERNAL_ACTIVITY = (_f("int", "id, prospect_id, created_by_id")
                      + _f("str", "extension, extension_salesforce_id, type, "
                                  "type_salesforce_id, value")
                      + _f("dt", "activity_date, created_at"))
_FILE = (_f("int", "id, size, campaign_id, tracker_domain_id, folder_id, created_by_id, "
                   "updated_by_id")
         + _f("bool", "bitly_is_personalized, is_tracked")
         + _f("str", "name, url, bitly_short_url, vanity_url, vanity_url_path, salesforce_id")
         + _f("dt", "created_at, updated_at"))
_FOLDER = (_f("int", "id, parent_folder_id, created_by_id, updated_by_id")
           + _f("bool", "use_permissions") + _f("str", "name, path")
           + _f("dt", "created_at, updated_at"))
_FOLDER_CONTENT = (_f("int", "id, folder_id, object_id, created_by_id, updated_by_id")
                   + _f("str", "folder_ref, object_type, object_name, object_ref")
                   + _f("dt", "created_at, updated_at"))
_FORM_FIELD = (_f("int", "id, form_id, sort_order, created_by_id, updated_by_id")
               + _f("bool", "has_dependents, has_progressives, has_values, is_required, "
                            "is_always_display, is_maintain_initial_value, is_do_not_prefill")
               + _f("str", "prospect_api_field_id, type, data_format, label, error_message, "
                           "css_classes")
               + _f("dt", "created_at, updated_at"))
_FORM_HANDLER = (_f("int", "id, campaign_id, tracker_domain_id, folder_id, created_by_id, "
                           "updated_by_id")
                 + _f("bool", "is_data_forwarded, is_always_email, is_cookieless, is_deleted")
                 + _f("str", "name, salesforce_id, embed_code, success_location, "
                             "error_location, url")
                 + _f("dt", "created_at, updated_at"))
_FORM_HANDLER_FIELD = (_f("int", "id, form_handler_id, created_by_id")
                       + _f("bool", "is_maintain_initial_value, is_required")
                       + _f("str", "name, data_format, error_message, prospect_api_field_id")
                       + _f("dt", "created_at"))
_LANDING_PAGE = (_f("int", "id, campaign_id, form_id, layout_template_id, layout_table_border, "
                           "tracker_domain_id, folder_id, created_by_id, updated_by_id")
                 + _f("bool", "is_deleted, is_do_not_index, is_use_redirect_location, "
                              "bitly_is_personalized")
                 + _f("str", "name, salesforce_id, title, description, vanity_url, "
                             "vanity_url_path, layout_type, redirect_location, bitly_short_url, "
                             "url, archive_date, script_fragment, layout_css, "
                             "layout_css_generated")
                 + _f("dt", "created_at, updated_at"))
_LAYOUT_TEMPLATE = (_f("int", "id, folder_id, created_by_id, updated_by_id")
                    + _f("bool", "is_include_default_css, is_deleted")
                    + _f("str", "name, layout_content, form_content, site_search_content")
                    + _f("dt", "created_at, updated_at"))
_LIFECYCLE_STAGE = (_f("int", "id, position") + _f("bool", "is_locked, is_deleted")
                    + _f("str", "name, match_type") + _f("dt", "created_at, updated_at"))
_LIST_EMAIL = (_f("int", "id, campaign_id, tracker_domain_id, email_template_id, folder_id, "
                         "created_by_id, updated_by_id")
               + _f("bool", "is_paused, is_sent, is_deleted, operational_email, is_operational")
               + _f("str", "name, subject, client_type, html_message, text_message")
               + _f("objs", "sender_options, reply_to_options")
               + _f("dt", "sent_at, created_at, updated_at"))
_TAGGED_OBJECT = (_f("int", "id, target_id, tag_id, object_id, created_by_id")
                  + _f("str", "target_object_type, tag_name") + _f("dt", "created_at"))
_TRACKER_DOMAIN = (_f("int", "id, ssl_requested_by_id, default_campaign_id, created_by_id, "
                             "updated_by_id")
                   + _f("bool", "is_primary, is_deleted")
                   + _f("str", "domain, validation_status, ssl_status, ssl_status_details, "
                               "https_status, vanity_url_status, tracking_code")
                   + _f("dt", "validated_at, created_at, updated_at"))
_IMPORT = (_f("int", "id, created_count, updated_count, error_count, created_by_id")
           + _f("bool", "is_expired") + _f("str", "status, batches_ref, errors_ref, origin")
           + _f("dt", "created_at, updated_at"))
_ACCOUNT = (_f("int", "id, plugin_campaign_id, admin_id, maximum_daily_api_calls, "
                      "api_calls_used, created_by_id, updated_by_id")
            + _f("str", "company, level, website, address_one, address_two, city, state, zip, "
                        "territory, country, phone, fax")
            + _f("dt", "created_at, updated_at"))
_EMAIL_CLICK = (_f("int", "id, prospect_id, list_email_id, drip_program_action_id, "
                          "email_template_id, tracker_redirect_id")
                + _f("str", "url") + _f("dt", "created_at"))

STREAMS: dict[str, StreamSpec] = {
    s.name: s
    for s in [
        StreamSpec("visitor_activities", "visitor-activities", "visitorActivity",
                   "visitor_activity", "visitorActivity", False, _VA, 100000,
                   v3_sort_by=("created_at", "id", "updated_at", "prospect_id", "visitor_id")),
        StreamSpec("prospects", "prospects", "prospect", "prospect", "prospect", True,
                   _PROSPECT, 1000,
                   v3_sort_by=("created_at", "id", "last_activity_at", "updated_at")),
        StreamSpec("list_memberships", "list-memberships", "listMembership", "list_membership",
                   "listMembership", True, _LM, 50000, v3_sort_by=("created_at", "id")),
        StreamSpec("visitors", "visitors", "visitor", "visitor", "visitor", True, _VISITOR,
                   20000),
        StreamSpec("prospect_accounts", "prospect-accounts", "prospectAccount",
                   "prospectAccount", "prospectAccount", True, _PA, 5000),
        StreamSpec("campaigns", "campaigns", "campaign", "campaign", None, True, _CAMPAIGN, 100,
                   v3_sort_by=("created_at", "id", "name", "updated_at", "cost")),
        StreamSpec("lists", "lists", "list", "list", None, True, _LIST, 200),
        StreamSpec("users", "users", "user", "user", None, True, _USER, 300,
                   v3_sort_by=("created_at", "id")),
        StreamSpec("tags", "tags", "tag", "tag", None, False, _TAG, 400),
        StreamSpec("custom_fields", "custom-fields", "customField", "customField", None, False,
                   _CUSTOM_FIELD, 500, v3_sort_by=("created_at", "id")),
        StreamSpec("opportunities", "opportunities", "opportunity", "opportunity", None, False,
                   _OPPORTUNITY, 600, v3_sort_by=("created_at", "id", "probability", "value")),
        StreamSpec("forms", "forms", "form", "form", None, True, _FORM, 700),
        StreamSpec("emails", "emails", "", "", None, False, _EMAIL, 800000,
                   read_only=("html_message", "text_message")),
        StreamSpec("visits", "visits", "", "", None, False, _VISIT, 300000),
        StreamSpec("visitor_page_views", "visitor-page-views", "", "", None, False,
                   _PAGE_VIEW, 900000),
        StreamSpec("lifecycle_histories", "lifecycle-histories", "lifecycleHistory",
                   "lifecycleHistory", None, False, _LIFECYCLE, 70000,
                   v3_sort_by=("created_at", "id")),
        StreamSpec("custom_redirects", "custom-redirects", "customRedirect", "customRedirect",
                   None, True, _CUSTOM_REDIRECT, 1100),
        StreamSpec("dynamic_contents", "dynamic-contents", "dynamicContent", "dynamicContent",
                   None, True, _DYNAMIC_CONTENT, 1300, read_only=("base_content",)),
        StreamSpec("dynamic_content_variations", "dynamic-content-variations", "", "", None,
                   False, _VARIATION, 1500),
        StreamSpec("email_templates", "email-templates", "", "", None, True, _EMAIL_TEMPLATE,
                   1700, read_only=("html_message", "text_message")),
        StreamSpec("engagement_studio_programs", "engagement-studio-programs", "", "", None,
                   True, _PROGRAM, 1900),
        StreamSpec("external_activities", "external-activities", "", "", "externalActivity",
                   False, _EXTERNAL_ACTIVITY, 400000),
        StreamSpec("files", "files", "", "", None, False, _FILE, 2100),
        StreamSpec("folders", "folders", "", "", None, False, _FOLDER, 2300),
        StreamSpec("folder_contents", "folder-contents", "", "", None, False, _FOLDER_CONTENT,
                   2500),
        StreamSpec("form_fields", "form-fields", "", "", None, False, _FORM_FIELD, 2700),
        StreamSpec("form_handlers", "form-handlers", "", "", None, True, _FORM_HANDLER, 2900),
        StreamSpec("form_handler_fields", "form-handler-fields", "", "", None, False,
                   _FORM_HANDLER_FIELD, 3100),
        StreamSpec("landing_pages", "landing-pages", "", "", None, True, _LANDING_PAGE, 3300,
                   read_only=("script_fragment", "layout_css", "layout_css_generated")),
        StreamSpec("layout_templates", "layout-templates", "", "", None, True,
                   _LAYOUT_TEMPLATE, 3500),
        StreamSpec("lifecycle_stages", "lifecycle-stages", "lifecycleStage", "lifecycleStage",
                   None, True, _LIFECYCLE_STAGE, 3700, v3_sort_by=("id", "position")),
        StreamSpec("list_emails", "list-emails", "", "", None, True, _LIST_EMAIL, 3900,
                   read_only=("html_message", "text_message")),
        StreamSpec("tagged_objects", "tagged-objects", "", "", None, False, _TAGGED_OBJECT,
                   4100),
        StreamSpec("tracker_domains", "tracker-domains", "", "", None, True, _TRACKER_DOMAIN,
                   4300),
        StreamSpec("imports", "imports", "", "", None, False, _IMPORT, 4500,
                   v5_url="/api/v5/imports"),
        StreamSpec("account", "account", "", "", None, False, _ACCOUNT, 1),
        # v3/v4 only (pardot-v5-objects.md Appendix B; legacy_extras.py): no v5 path; the
        # query pages by id only (the docs list no sort_by; AB sends `sort_by=id`).
        StreamSpec("email_clicks", "", "emailClick", "emailClick", None, False, _EMAIL_CLICK,
                   4_000_000, v3_sort_by=("id",)),
    ]
}

# Objects queried under /api/v5/objects/ (the others have their own path, `v5_url`, or none).
BY_V5_PATH = {s.v5_path: s for s in STREAMS.values() if s.v5_path and not s.v5_url}
BY_V3_OBJECT = {s.v3_object.lower(): s for s in STREAMS.values() if s.v3_object}

