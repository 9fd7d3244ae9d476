"""One module per Pardot object; STREAM_TYPES is the registry the tap serves."""

from tap_pardot.streams.list_memberships import ListMembershipsStream
from tap_pardot.streams.prospect_accounts import ProspectAccountsStream
from tap_pardot.streams.prospects import ProspectsStream
from tap_pardot.streams.visitor_activities import VisitorActivitiesStream
from tap_pardot.streams.visitors import VisitorsStream

STREAM_TYPES = (
    VisitorActivitiesStream,
    ProspectsStream,
    ListMembershipsStream,
    VisitorsStream,
    ProspectAccountsStream,
)

__all__ = ["STREAM_TYPES"]
