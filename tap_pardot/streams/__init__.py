"""One module per Pardot object; STREAM_TYPES is the registry the tap serves."""

from tap_pardot.streams.campaigns import CampaignsStream
from tap_pardot.streams.custom_fields import CustomFieldsStream
from tap_pardot.streams.emails import EmailsStream
from tap_pardot.streams.forms import FormsStream
from tap_pardot.streams.lifecycle_histories import LifecycleHistoriesStream
from tap_pardot.streams.list_memberships import ListMembershipsStream
from tap_pardot.streams.lists import ListsStream
from tap_pardot.streams.opportunities import OpportunitiesStream
from tap_pardot.streams.prospect_accounts import ProspectAccountsStream
from tap_pardot.streams.prospects import ProspectsStream
from tap_pardot.streams.tags import TagsStream
from tap_pardot.streams.users import UsersStream
from tap_pardot.streams.visitor_activities import VisitorActivitiesStream
from tap_pardot.streams.visitor_page_views import VisitorPageViewsStream
from tap_pardot.streams.visitors import VisitorsStream
from tap_pardot.streams.visits import VisitsStream

STREAM_TYPES = (
    VisitorActivitiesStream,
    ProspectsStream,
    ListMembershipsStream,
    VisitorsStream,
    ProspectAccountsStream,
    # Query API only (the Export API serves the five objects above)
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

__all__ = ["STREAM_TYPES"]
