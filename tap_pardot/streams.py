"""The streams, one Pardot object each, declared side by side (pardot-v5-objects.md).

What differs between objects is all here: the v5 path and the v3/v4 object (none: v5 only,
skipped on v3/v4), the replication key (`updated_at`, else `created_at` or `sent_at` for
objects never updated; none for objects read whole: no date, or a singleton), which are
walked by id (no sortable date on that API; `v5_order_unsure`: a date sort no definition
confirms, dropped if refused), which have a recycle bin, which the Export API serves
(`export_object`: a documented procedure; `export_generic`: a v5-only generic one, see
export/spec.py), and the v3/v4 names that differ from ours (pardot-api.md §6; `is_deleted`
is `is_archived` everywhere, see PardotStream.v3_names). The README's streams table is
generated from these.
"""

from __future__ import annotations

import typing as t

from tap_pardot.account_fields import AccountCustomFieldsMixin
from tap_pardot.custom_fields import CustomFieldsMixin
from tap_pardot.list_email_stats import ListEmailStatsMixin
from tap_pardot.nested_stream import NestedStream
from tap_pardot.object_stream import PardotObjectStream
from tap_pardot.query.nested import nested_list

# -- The Export API's objects --------------------------------------------------------------


class VisitorActivitiesStream(PardotObjectStream):
    name = "visitor_activities"
    v5_path, v3_object, v3_collection = "visitor-activities", "visitorActivity", "visitor_activity"
    deletable = False  # no recycle bin: no `deleted` parameter or argument
    export_object = "visitorActivity"


# override: the mixin's `schema` is a property where the SDK's stream has an attribute
class ProspectsStream(CustomFieldsMixin, PardotObjectStream):  # type: ignore[override]
    name = "prospects"
    v5_path, v3_object, v3_collection = "prospects", "prospect", "prospect"
    v3_deleted = True  # v3/v4 `deleted=true|false`: a recycle-bin walk, then a live one
    v3_names = {
        "is_deleted": "is_archived",
        "salesforce_id": "salesforce_fid",
        "salesforce_lead_id": "crm_lead_fid",
        "salesforce_contact_id": "crm_contact_fid",
        "salesforce_account_id": "crm_account_fid",
        "salesforce_owner_id": "crm_owner_fid",
        "salesforce_campaign_id": "crm_campaign_fid",
        "salesforce_last_sync": "crm_last_sync",
    }
    v3_query_names = {"salesforce_url": "crm_url"}
    export_object, export_deleted_argument = "prospect", "deleted"


class ListMembershipsStream(PardotObjectStream):
    name = "list_memberships"
    v5_path, v3_object, v3_collection = "list-memberships", "listMembership", "list_membership"
    v3_sort_by = "id"  # v3/v4 sort by created_at or id only
    v3_deleted = True
    export_object, export_deleted_argument = "listMembership", "deleted"


class VisitorsStream(PardotObjectStream):
    name = "visitors"
    v5_path, v3_object, v3_collection = "visitors", "visitor", "visitor"
    v3_sort_by = "id"  # v3/v4 document no updated_at sort for visitors
    v3_params = {"only_identified": "false"}  # the v3/v4 default hides anonymous visitors
    export_object, export_deleted_argument = "visitor", "deleted"


# override: the mixin's `schema` is a property where the SDK's stream has an attribute
class ProspectAccountsStream(AccountCustomFieldsMixin, PardotObjectStream):  # type: ignore[override]
    """No updatedAt filter or sort on either API: walked by id, filtered client-side (few
    thousand records); a large backfill uses the export. Custom fields on v3/v4 only."""

    name = "prospect_accounts"
    v5_path, v3_object, v3_collection = "prospect-accounts", "prospectAccount", "prospectAccount"
    v5_order = v3_sort_by = "id"
    export_object, export_deleted_argument = "prospectAccount", "deleted"


class ExternalActivitiesStream(PardotObjectStream):
    """Created once, never updated; v5 sorts only by id, so its query is an id walk. Not
    selected by default: exported (its documented procedure), a run waits minutes on it.
    Queried where today's docs say, else (404) where Pardot's 2023 framework served it."""

    name = "external_activities"
    v5_path, v5_path_fallback = "/external-activities", "external-activities"
    v5_order, replication_key = "id", "created_at"
    deletable = False
    export_object, export_procedure = "externalActivity", "filter_by_created_at"
    selected_by_default = False


# -- Query API, and generic v5 exports where the account has them -------------------------


class CampaignsStream(PardotObjectStream):
    """v3/v4 campaign records are `id, name, cost` only: read whole, by id, every run."""

    name = "campaigns"
    v5_path, v3_object, v3_collection = "campaigns", "campaign", "campaign"
    v3_full_table = True
    export_generic = "Campaign"


class ListsStream(PardotObjectStream):
    name = "lists"
    v5_path, v3_object, v3_collection = "lists", "list", "list"
    v3_query_names = {"is_salesforce_visible": "is_crm_visible"}
    export_generic = "List"


class UsersStream(PardotObjectStream):
    """v5 only: the v3/v4 `user` query has no updated_at filter or sort."""

    name = "users"
    v5_path = "users"
    export_generic = "User"


class TagsStream(PardotObjectStream):
    name = "tags"
    v5_path, v3_object, v3_collection = "tags", "tag", "tag"
    deletable = False


class CustomFieldsStream(PardotObjectStream):
    """v5 only (the v3/v4 query has no updated_at filter or sort); deleted ones are hidden."""

    name = "custom_fields"
    v5_path = "custom-fields"
    deletable = False
    v3_query_names = {"salesforce_id": "crm_id"}
    export_generic = "CustomField"


class OpportunitiesStream(PardotObjectStream):
    """v5 only (the v3/v4 query has no updated_at filter or sort); deleted ones are hidden."""

    name = "opportunities"
    v5_path = "opportunities"
    deletable = False
    export_generic = "Opportunity"


class VisitsStream(PardotObjectStream):
    """v5 only: the v3/v4 `visit` query needs visitor, visit or prospect ids."""

    name = "visits"
    v5_path = "visits"
    deletable = False
    export_generic = "Visit"


class VisitorPageViewsStream(PardotObjectStream):
    """v5 only (v3/v4 nest page views in visits); never updated."""

    name = "visitor_page_views"
    v5_path = "visitor-page-views"
    replication_key = "created_at"
    deletable = False
    export_generic = "VisitorPageView"


class EmailsStream(PardotObjectStream):
    """v5 only; a sent email is never updated. Its bodies (read endpoint only) and nested
    sender/reply-to options are not extracted."""

    name = "emails"
    v5_path = "emails"
    replication_key = "sent_at"
    deletable = False


class FormsStream(PardotObjectStream):
    """No updatedAt filter or sort on v5: walked by id, filtered client-side (a page)."""

    name = "forms"
    v5_path, v3_object, v3_collection = "forms", "form", "form"
    v5_order = "id"
    v3_names = {"is_deleted": "is_archived", "salesforce_id": "salesforce_fid"}
    export_generic = "Form"


class LifecycleHistoriesStream(PardotObjectStream):
    """A stage change is never updated."""

    name = "lifecycle_histories"
    v5_path, v3_object = "lifecycle-histories", "lifecycleHistory"
    v3_collection = "lifecycleHistory"
    replication_key = "created_at"
    deletable = False
    export_generic = "LifecycleHistory"


# -- Issue #10: the rest of the readable v5 objects (pardot-v5-objects.md, in its order) ------
# v5 only unless a v3/v4 object is named: Pardot's v3/v4 API has no query for the others.


class AccountStream(PardotObjectStream):
    """A singleton (`GET /objects/account`): read whole every run, no bookmark."""

    name = "account"
    v5_path, singleton = "account", True
    replication_key = None  # type: ignore[assignment]  # full table
    deletable = False


class CustomRedirectsStream(PardotObjectStream):
    """No updatedAt filter or sort on v5 (nor a v3/v4 updated_at sort): walked by id."""

    name = "custom_redirects"
    v5_path, v3_object, v3_collection = "custom-redirects", "customRedirect", "customRedirect"
    v5_order = v3_sort_by = "id"
    export_generic = "CustomRedirect"


class DynamicContentsStream(PardotObjectStream):
    name = "dynamic_contents"
    v5_path, v3_object, v3_collection = "dynamic-contents", "dynamicContent", "dynamicContent"
    v3_sort_by = "id"  # v3/v4 document sort_by created_at or id
    v3_query_names = {"embed_code": "embedCode", "embed_url": "embedUrl",
                      "based_on": "basedOn"}
    export_generic = "DynamicContent"


class DynamicContentVariationsStream(PardotObjectStream):
    """No date at all: read whole by id every run (`dynamicContentId` is a filter, not a
    required parent, so no per-parent walk)."""

    name = "dynamic_content_variations"
    v5_path = "dynamic-content-variations"
    replication_key = None  # type: ignore[assignment]  # full table
    deletable = False


class EmailTemplatesStream(PardotObjectStream):
    """Bodies (read endpoint only) and sender/reply-to options are not extracted."""

    name = "email_templates"
    v5_path = "email-templates"
    export_generic = "EmailTemplate"


class EngagementStudioProgramsStream(PardotObjectStream):
    name = "engagement_studio_programs"
    v5_path, v5_path_fallback = "engagement-studio-programs", "engagement-programs"


class FilesStream(PardotObjectStream):
    """Walked by id; deleted files are hidden (no isDeleted)."""

    name = "files"
    v5_path, v5_order = "files", "id"
    deletable = False
    export_generic = "File"


class FoldersStream(PardotObjectStream):
    """Walked by id; deleted folders are hidden (no isDeleted)."""

    name = "folders"
    v5_path, v5_order = "folders", "id"
    deletable = False
    export_generic = "Folder"


class FolderContentsStream(PardotObjectStream):
    """Not in the 2023 definitions: updatedAt filter and sort as Airbyte uses them, else
    (refused) an id walk."""

    name = "folder_contents"
    v5_path, v5_order_unsure = "folder-contents", True
    deletable = False


class FormFieldsStream(PardotObjectStream):
    """Not in the 2023 definitions: updatedAt filter and sort as Airbyte uses them, else
    (refused) an id walk."""

    name = "form_fields"
    v5_path, v5_order_unsure = "form-fields", True
    deletable = False


class FormHandlersStream(PardotObjectStream):
    name = "form_handlers"
    v5_path = "form-handlers"
    export_generic = "FormHandler"


class FormHandlerFieldsStream(PardotObjectStream):
    """Never updated (createdAt only)."""

    name = "form_handler_fields"
    v5_path = "form-handler-fields"
    replication_key = "created_at"
    deletable = False
    export_generic = "FormHandlerField"


class LandingPagesStream(PardotObjectStream):
    """Layout CSS and script (read endpoint only) are not extracted."""

    name = "landing_pages"
    v5_path = "landing-pages"
    export_generic = "LandingPage"


class LayoutTemplatesStream(PardotObjectStream):
    name = "layout_templates"
    v5_path, v5_order = "layout-templates", "id"
    export_generic = "LayoutTemplate"


class LifecycleStagesStream(PardotObjectStream):
    """v3/v4 stage records are `id, name, position, is_locked`: read whole every run."""

    name = "lifecycle_stages"
    v5_path, v3_object, v3_collection = "lifecycle-stages", "lifecycleStage", "lifecycleStage"
    v3_full_table = True
    export_generic = "LifecycleStage"


class ListEmailsStream(PardotObjectStream):
    """Bodies (read endpoint only) and sender/reply-to options are not extracted."""

    name = "list_emails"
    v5_path = "list-emails"
    export_generic = "ListEmail"

    def get_child_context(self, record: dict[str, t.Any], context: t.Any) -> dict[str, t.Any]:
        return {"list_email_id": record["id"]}  # list_email_stats reads each one's stats


class TaggedObjectsStream(PardotObjectStream):
    """Never updated; walked by id (v3/v4 `tagObject` has other fields)."""

    name = "tagged_objects"
    v5_path, v5_order = "tagged-objects", "id"
    replication_key = "created_at"
    deletable = False


class TrackerDomainsStream(PardotObjectStream):
    name = "tracker_domains"
    v5_path, v5_order = "tracker-domains", "id"
    export_generic = "TrackerDomain"


class ImportsStream(PardotObjectStream):
    """The account's import jobs (`/api/v5/imports`)."""

    name = "imports"
    v5_path = "/imports"
    deletable = False


STREAM_TYPES: tuple[type[PardotObjectStream], ...] = (
    VisitorActivitiesStream,
    ProspectsStream,
    ListMembershipsStream,
    VisitorsStream,
    ProspectAccountsStream,
    CampaignsStream,
    ListsStream,
    UsersStream,
    TagsStream,
    CustomFieldsStream,
    OpportunitiesStream,
    VisitsStream,
    VisitorPageViewsStream,
    EmailsStream,
    FormsStream,
    LifecycleHistoriesStream,
    ExternalActivitiesStream,
    AccountStream,
    CustomRedirectsStream,
    DynamicContentsStream,
    DynamicContentVariationsStream,
    EmailTemplatesStream,
    EngagementStudioProgramsStream,
    FilesStream,
    FoldersStream,
    FolderContentsStream,
    FormFieldsStream,
    FormHandlersStream,
    FormHandlerFieldsStream,
    LandingPagesStream,
    LayoutTemplatesStream,
    LifecycleStagesStream,
    ListEmailsStream,
    TaggedObjectsStream,
    TrackerDomainsStream,
    ImportsStream,
)


# -- v3/v4-only data and child objects (pardot-v5-objects.md, Appendix B) --------------------


class EmailClicksStream(PardotObjectStream):
    """v3/v4 only; a click is never updated. Walked by id (`id_greater_than`, the order the
    query pages in) within `created_after`/`created_before`, bookmarked by `created_at`.
    Not by id: a run reads up to a settled bound, and a click stamped after it can have a
    smaller id than one read (ids are not in time order), which the next run's
    `id_greater_than` would skip; `created_after` from the bound does not."""

    name = "email_clicks"
    v3_object = v3_collection = "emailClick"
    replication_key = "created_at"
    v3_sort_by = "id"  # the query takes no time sort
    deletable = False


class OpportunityProspectsStream(NestedStream):
    """v3/v4 only (the v5 opportunity has no prospect link): the `prospects` nested in the
    opportunity query's rows (`output=simple`). A link added to an older opportunity moves
    no date the query can filter on (it has no `updated_after`), so the table is read
    whole, by id, every run (opportunities are few)."""

    name = "opportunity_prospects"
    v3_object, v3_collection, v3_output = "opportunity", "opportunity", "simple"
    primary_keys = ("opportunity_id", "prospect_id")
    replication_key = None  # type: ignore[assignment]  # full table
    v3_full_table = True

    def children(self, row: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        return [{**{key: prospect.get(key) for key in CARRIED_PROSPECT_KEYS},
                 "opportunity_id": row["id"], "prospect_id": prospect.get("id")}
                for prospect in nested_list(row.get("prospects"), "prospect")
                if prospect.get("id") is not None]


class VisitorReferrersStream(NestedStream):
    """v3/v4 only: the `visitor_referrer` of the visitor query's rows (`output=full`),
    walked like visitors (by id, within `updated_after`/`updated_before`): one call per
    200 visitors, where reading each visitor would cost one per visitor. `updated_at` is
    the visitor's."""

    name = "visitor_referrers"
    v3_object, v3_collection = "visitor", "visitor"
    v3_sort_by = "id"
    v3_params = {"only_identified": "false"}  # as VisitorsStream

    def children(self, row: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        return visitor_part(row, "visitor_referrer")


class VisitorIdentifiedCompaniesStream(NestedStream):
    """v3/v4 only: the `identified_company` of the visitor query's rows, walked as
    visitor_referrers is (its own walk: one call per 200 visitors). Keyed by visitor: a
    company is identified for many; `updated_at` is the visitor's."""

    name = "visitor_identified_companies"
    v3_object, v3_collection = "visitor", "visitor"
    v3_sort_by = "id"
    v3_params = {"only_identified": "false"}  # as VisitorsStream
    primary_keys = ("visitor_id",)

    def children(self, row: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        return visitor_part(row, "identified_company")


class ListEmailStatsStream(ListEmailStatsMixin, PardotObjectStream):
    """A list email's statistics (v5 `list-emails/{id}/stats`), read for each list email the
    parent stream reads: incremental where list_emails is."""

    name = "list_email_stats"
    v5_path = "list-emails"
    parent_stream_type = ListEmailsStream
    primary_keys = ("list_email_id",)
    replication_key = None  # type: ignore[assignment]  # one snapshot per list email read
    deletable = False


CARRIED_PROSPECT_KEYS = ("email", "first_name", "last_name", "company")


def visitor_part(row: dict[str, t.Any], key: str) -> list[dict[str, t.Any]]:
    """The object a visitor row holds under `key` (if any, with an id) as a record: keyed by
    the visitor, with the visitor's `updated_at`."""
    part = row.get(key)
    if not isinstance(part, dict) or part.get("id") is None:
        return []
    return [{**part, "visitor_id": row["id"], "updated_at": row.get("updated_at")}]

STREAM_TYPES += (
    EmailClicksStream,
    OpportunityProspectsStream,
    VisitorReferrersStream,
    VisitorIdentifiedCompaniesStream,
    ListEmailStatsStream,
)
