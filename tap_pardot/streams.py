"""The streams, one Pardot object each, declared side by side (pardot-v5-objects.md).

What differs between objects is all here: the v5 path and the v3/v4 object (none: v5 only,
skipped on v3/v4), the replication key (`updated_at`, else `created_at` or `sent_at` for
objects never updated), which are walked by id (no sortable date on that API), which have a
recycle bin, which the Export API serves (`export_object`: a documented procedure;
`export_generic`: a v5-only generic one, see export/spec.py), and the v3/v4 names that
differ from ours (pardot-api.md §6; `is_deleted` is `is_archived` everywhere, see
PardotStream.v3_names).
"""

from __future__ import annotations

from tap_pardot.custom_fields import CustomFieldsMixin
from tap_pardot.object_stream import PardotObjectStream

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


class ProspectAccountsStream(PardotObjectStream):
    """No updatedAt filter or sort on either API: walked by id, filtered client-side (few
    thousand records); a large backfill uses the export."""

    name = "prospect_accounts"
    v5_path, v3_object, v3_collection = "prospect-accounts", "prospectAccount", "prospectAccount"
    v5_order = v3_sort_by = "id"
    export_object, export_deleted_argument = "prospectAccount", "deleted"


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
)
