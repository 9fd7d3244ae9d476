"""Streams the simulator serves: field names and types, and their names in each API."""

from __future__ import annotations

from dataclasses import dataclass, field


def camel(name: str) -> str:
    """snake_case -> lowerCamelCase (`address_one` -> `addressOne`)."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _f(kind: str, names: str) -> list[tuple[str, str]]:
    return [(n.strip(), kind) for n in names.split(",") if n.strip()]


@dataclass
class StreamSpec:
    name: str  # tap stream name (snake plural)
    v5_path: str
    v3_object: str
    v3_key: str  # collection key in v3/v4 JSON
    export_object: str | None
    deletable: bool
    fields: list[tuple[str, str]]  # (snake name, int|num|str|bool|dt), `id` first
    id_base: int
    v3_sort_by: tuple[str, ...] = ("created_at", "id", "updated_at")
    export_unavailable: tuple[str, ...] = ()
    v5_id_only: bool = False  # no createdAt/updatedAt filter or sort on v5 (Airbyte's reading)
    index: dict[str, int] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    by_camel: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)  # custom field name -> its fieldId

    def __post_init__(self) -> None:
        self.index = {n: i for i, (n, _) in enumerate(self.fields)}
        self.types = dict(self.fields)
        self.by_camel = {camel(n): n for n, _ in self.fields if n not in self.custom}
        self.by_camel.update({api: n for n, api in self.custom.items()})

    def api_name(self, name: str, version: int) -> str:
        """A field's name on the wire: its fieldId if custom, else camelCase (v5) or snake."""
        if name in self.custom:
            return self.custom[name]
        return camel(name) if version == 5 else name


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
              "created_by_id, updated_by_id, score")
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
                "years_in_business, employees, territory, comments, notes")
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
         + _f("bool", "is_public, is_dynamic, is_deleted")
         + _f("str", "name, title, description") + _f("dt", "created_at, updated_at"))
_USER = (_f("int", "id, created_by_id, updated_by_id")
         + _f("bool", "is_deleted")
         + _f("str", "email, username, first_name, job_title, role, role_name, salesforce_id, "
                     "tag_replacement_language")
         + _f("dt", "created_at, updated_at"))
_TAG = (_f("int", "id, object_count, created_by_id, updated_by_id") + _f("str", "name")
        + _f("dt", "created_at, updated_at"))
_CUSTOM_FIELD = (_f("int", "id, created_by_id, updated_by_id")
                 + _f("bool", "is_record_multiple_responses, is_use_values, is_required, "
                              "is_analytics_synced")
                 + _f("str", "name, field_id, type, salesforce_id")
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
                    "email_template_id, tracker_domain_id, created_by_id")
          + _f("bool", "is_operational") + _f("str", "name, type, subject, client_type")
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

STREAMS: dict[str, StreamSpec] = {
    s.name: s
    for s in [
        StreamSpec("visitor_activities", "visitor-activities", "visitorActivity",
                   "visitor_activity", "visitorActivity", False, _VA, 100000,
                   v3_sort_by=("created_at", "id", "updated_at", "prospect_id", "visitor_id")),
        StreamSpec("prospects", "prospects", "prospect", "prospect", "prospect", True,
                   _PROSPECT, 1000,
                   v3_sort_by=("created_at", "id", "last_activity_at", "updated_at"),
                   export_unavailable=("grade", "notes")),
        StreamSpec("list_memberships", "list-memberships", "listMembership", "list_membership",
                   "listMembership", True, _LM, 50000, v3_sort_by=("created_at", "id")),
        StreamSpec("visitors", "visitors", "visitor", "visitor", "visitor", True, _VISITOR,
                   20000),
        StreamSpec("prospect_accounts", "prospect-accounts", "prospectAccount",
                   "prospectAccount", "prospectAccount", True, _PA, 5000),
        StreamSpec("campaigns", "campaigns", "campaign", "campaign", None, True, _CAMPAIGN, 100),
        StreamSpec("lists", "lists", "list", "list", None, True, _LIST, 200),
        StreamSpec("users", "users", "user", "user", None, True, _USER, 300,
                   v3_sort_by=("created_at", "id")),
        StreamSpec("tags", "tags", "tag", "tag", None, False, _TAG, 400),
        StreamSpec("custom_fields", "custom-fields", "customField", "customField", None, False,
                   _CUSTOM_FIELD, 500, v3_sort_by=("created_at", "id")),
        StreamSpec("opportunities", "opportunities", "opportunity", "opportunity", None, False,
                   _OPPORTUNITY, 600, v3_sort_by=("created_at", "id")),
        StreamSpec("forms", "forms", "form", "form", None, True, _FORM, 700, v5_id_only=True),
        StreamSpec("emails", "emails", "", "", None, False, _EMAIL, 800000),
        StreamSpec("visits", "visits", "", "", None, False, _VISIT, 300000),
        StreamSpec("visitor_page_views", "visitor-page-views", "", "", None, False,
                   _PAGE_VIEW, 900000),
        StreamSpec("lifecycle_histories", "lifecycle-histories", "lifecycleHistory",
                   "lifecycleHistory", None, False, _LIFECYCLE, 70000,
                   v3_sort_by=("created_at", "id")),
    ]
}

BY_V5_PATH = {s.v5_path: s for s in STREAMS.values()}
BY_V3_OBJECT = {s.v3_object.lower(): s for s in STREAMS.values() if s.v3_object}
BY_EXPORT_OBJECT = {s.export_object.lower(): s for s in STREAMS.values() if s.export_object}

# Export procedures: name -> (required args, optional args). Argument names are snake_case;
# the simulator also accepts their camelCase spelling (and `prospect_only`/`prospectOnly`).
_VA_EXTRA = ("type", "prospect_only")
PROCEDURES: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "visitorActivity": {
        "filter_by_created_at": (("created_after",), ("created_before", *_VA_EXTRA)),
        "filter_by_updated_at": (("updated_after",), ("updated_before", *_VA_EXTRA)),
    },
    "prospect": {
        "filter_by_created_at": (("created_after",), ("created_before", "deleted")),
        "filter_by_updated_at": (("updated_after",), ("updated_before", "deleted")),
    },
    "listMembership": {
        "filter_by_created_at": (("created_after",), ("created_before", "deleted")),
        "filter_by_updated_at": (("updated_after",), ("updated_before", "deleted")),
    },
    "visitor": {
        "filter_by_updated_at": (("updated_after",), ("updated_before", "deleted")),
        "filter_by_prospect_updated_at": (("prospect_updated_after",),
                                          ("prospect_updated_before", "prospect_deleted")),
    },
    "prospectAccount": {
        "filter_by_updated_at": (("updated_after",), ("updated_before", "deleted")),
        "filter_by_prospect_updated_at": (("prospect_updated_after",),
                                          ("prospect_updated_before", "prospect_deleted")),
    },
}
