"""Row builders: every field of a record derived from (seed, stream, id), never stored.

A table stores only ids, created/updated times and deleted flags; the other values are a
pure function of a 64-bit hash of the record id, so a million rows cost a few arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
M64 = (1 << 64) - 1

# Text that exercises CSV quoting and encodings. Never "": CSV cannot tell it from null.
TRICKY = [
    "Spring Sale, 2025",
    'He said "hello"',
    "line one\nline two",
    "Emoji launch 🎉🚀",
    "Café résumé naïve",
    'Mix, "quotes",\r\nand 😀 more',
    "  padded  ",
    "Semi;colon|pipe\ttab",
    # Formula-like text: export CSVs write these with a backslash in front (pardot-api.md §4c)
    "@handle",
    "=SUM(A1:A2)",
    "+1 555 0100",
]

# (type code, type name, the one id field this type carries)
VA_TYPES = [
    (1, "Click", "email_id"),
    (2, "View", "landing_page_id"),
    (4, "Success", "form_id"),
    (6, "Sent", "list_email_id"),
    (11, "Open", "email_id"),
    (13, "Bounced", "email_id"),
    (17, "File Access", "file_id"),
    (20, "Visit", "visit_id"),
    (21, "Custom URL click", "custom_redirect_id"),
    (24, "Site Search Query", "site_search_query_id"),
    (34, "Form Handler Success", "form_handler_id"),
    (36, "Opportunity Created", "opportunity_id"),
]

FIRST = ["Ana", "Bob", "Zoë", "José", "Li", "O'Brien", "Renée", "Mohammed", "Élodie", None]
LAST = ["Smith", "García", "Müller", "Smith, Jr.", 'Jones "JJ"', "Nguyễn", "Øster", "Kim"]
COMPANY = ["Acme, Inc.", "Globex", 'The "Best" Co', "Initech\nLabs", "Umbrella 🌂", "Soylent",
           "Hooli", None]
CITY = ["Boston", "Paris", "São Paulo", "Zürich", "Tokyo", None]
COUNTRY = ["USA", "France", "Brazil", "Switzerland", "Japan", None]
INDUSTRY = ["Software", "Retail", "Manufacturing", "Finance, Banking", None]
SOURCE = ["google", "newsletter", "linkedin", "direct", None]


def mix(x: int) -> int:
    """splitmix64 finaliser."""
    x &= M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def row_hash(salt: int, rid: int) -> int:
    return mix(salt + rid * 0x9E3779B97F4A7C15)


class Ctx:
    """What builders may look at: ids of the other tables (for references).

    A reference picks among the records generated at start (`freeze`), so records created
    later through /_sim/records never change another record's derived values."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self.tables = tables
        self.sizes: dict[str, int] = {}

    def freeze(self) -> None:
        self.sizes = {name: len(t) for name, t in self.tables.items()}

    def ref(self, stream: str, h: int) -> int | None:
        n = self.sizes.get(stream, 0)
        return self.tables[stream].ids[h % n] if n else None


def build_visitor_activity(ctx: Ctx, rid: int, h: int, created: int, updated: int,
                           deleted: int) -> list[Any]:
    r: list[Any] = [None] * 23
    r[0] = rid
    code, name, id_field = VA_TYPES[h % len(VA_TYPES)]
    r[_VA_IDX[id_field]] = 100 + (h >> 12) % 900
    if (h >> 8) & 3:
        r[13] = ctx.ref("prospects", h >> 16)
    r[16] = 20000 + (h >> 24) % 50000  # visitor_id
    if (h >> 20) & 1:
        r[1] = ctx.ref("campaigns", h >> 28)
    if id_field != "visit_id" and (h >> 21) & 1:
        r[15] = 300000 + (h >> 32) % 100000
    r[18] = code
    r[19] = name
    d = (h >> 40) % 24
    r[20] = TRICKY[d] if d < len(TRICKY) else (None if d > 20 else f"https://example.com/p/{d}")
    r[21] = created
    r[22] = updated
    return r


_VA_FIELDS = ["id", "campaign_id", "custom_redirect_id", "email_id", "email_template_id",
              "file_id", "form_id", "form_handler_id", "landing_page_id", "list_email_id",
              "multivariate_test_variation_id", "opportunity_id", "paid_search_ad_id",
              "prospect_id", "site_search_query_id", "visit_id", "visitor_id",
              "visitor_page_view_id", "type", "type_name", "details", "created_at", "updated_at"]
_VA_IDX = {n: i for i, n in enumerate(_VA_FIELDS)}


def _pick(h: int, k: int, seq: list[Any]) -> Any:
    return seq[mix(h + k) % len(seq)]


def _maybe(h: int, k: int, value: T, pct_null: int = 20) -> T | None:
    return None if mix(h ^ (k << 7)) % 100 < pct_null else value


def _generic(spec_fields: list[tuple[str, str]],
             special: dict[str, Callable[[Ctx, int, int, int], Any]]) -> Callable[..., list[Any]]:
    """A builder for small streams: per-field rules, with defaults by type."""

    def build(ctx: Ctx, rid: int, h: int, created: int, updated: int,
              deleted: int) -> list[Any]:
        out: list[Any] = []
        for k, (name, kind) in enumerate(spec_fields):
            if name == "id":
                out.append(rid)
            elif name in ("created_at", "sent_at"):
                out.append(created)
            elif name == "updated_at":
                out.append(updated)
            elif name == "is_deleted":
                out.append(bool(deleted))
            elif name in special:
                out.append(special[name](ctx, h, k, created))
            elif kind == "int":
                out.append(_maybe(h, k, 1 + mix(h + k) % 500))
            elif kind == "num":
                out.append(_maybe(h, k, mix(h + k) % 10**7 / 100))
            elif kind == "bool":
                out.append(mix(h + k) % 5 == 0)
            elif kind == "dt":
                out.append(_maybe(h, k, created + mix(h + k) % (updated - created + 1), 40))
            else:
                out.append(_maybe(h, k, f"{name.replace('_', ' ').title()} {mix(h + k) % 97}"))
        return out

    return build


def _ref(stream: str, pct_null: int = 10) -> Callable[[Ctx, int, int, int], Any]:
    return lambda ctx, h, k, c: _maybe(h, k, ctx.ref(stream, mix(h + k)), pct_null)


def _choice(seq: list[Any]) -> Callable[[Ctx, int, int, int], Any]:
    return lambda ctx, h, k, c: _pick(h, k, seq)


def _tricky(pct_null: int = 30) -> Callable[[Ctx, int, int, int], Any]:
    return lambda ctx, h, k, c: _maybe(h, k, _pick(h, k, TRICKY), pct_null)


def _after_created(max_seconds: int) -> Callable[[Ctx, int, int, int], Any]:
    return lambda ctx, h, k, c: _maybe(h, k, c + mix(h + k) % (max_seconds + 1), 40)


def _options(ctx: Ctx, h: int, k: int) -> list[dict[str, Any]] | None:
    """An email's senderOptions / replyToOptions: 1-2 entries of the shape AB reads."""
    out = []
    for j in range(1 + mix(h + k) % 2):
        x = mix(h + k + 31 * j)
        kind = ("general_user", "assigned_user", "prospect_custom_field")[x % 3]
        out.append({"type": kind, "address": f"sender{x % 100}@example.com" if x % 3 == 0
                    else None, "name": _pick(x, 1, FIRST), "userId": ctx.ref("users", x)
                    if x % 3 < 2 else None, "prospectCustomFieldId": ctx.ref("custom_fields", x)
                    if x % 3 == 2 else None, "accountCustomFieldId": None})
    return _maybe(h, k, out, 10)


def _list_ids(ctx: Ctx, h: int, k: int, least: int) -> list[int] | None:
    """An engagement program's recipient or suppression lists: ids of generated lists."""
    n = least + mix(h + k) % 3
    ids = [ctx.ref("lists", mix(h + k + j)) for j in range(n)]
    return _maybe(h, k, [i for i in dict.fromkeys(ids) if i is not None], 20)


PROSPECT_SPECIAL: dict[str, Callable[[Ctx, int, int, int], Any]] = {
    "campaign_id": _ref("campaigns", 5),
    "prospect_account_id": _ref("prospect_accounts", 15),
    "user_id": _ref("users", 30),
    "assigned_to_id": _ref("users", 30),
    "password": lambda ctx, h, k, c: None,  # never readable in practice
    "created_by_id": _ref("users", 20),
    "updated_by_id": _ref("users", 20),
    "score": lambda ctx, h, k, c: mix(h + k) % 300,
    "email": lambda ctx, h, k, c: f"person{mix(h + k) % 100000}@example.com",
    "first_name": _choice(FIRST),
    "last_name": _choice(LAST),
    "company": _choice(COMPANY),
    "city": _choice(CITY),
    "country": _choice(COUNTRY),
    "industry": _choice(INDUSTRY),
    "source": _choice(SOURCE),
    "comments": _tricky(40),
    "notes": _tricky(50),
    "grade": _choice(["A", "B+", "C-", "D", None]),
    "last_activity_at": _after_created(3600),
    "first_activity_at": _after_created(600),
    "salesforce_url": lambda ctx, h, k, c: _maybe(
        h, k, f"https://example.my.salesforce.com/00Q{mix(h + k) % 10**12:012d}", 50),
}

VISITOR_SPECIAL: dict[str, Callable[[Ctx, int, int, int], Any]] = {
    "prospect_id": _ref("prospects", 35),
    "campaign_id": _ref("campaigns", 20),
    "page_view_count": lambda ctx, h, k, c: mix(h + k) % 60,
    "hostname": _choice(["host.example.com", "cpe-1-2-3-4.example.net", None]),
    "ip_address": lambda ctx, h, k, c: f"10.{mix(h + k) % 256}.{mix(h + k + 1) % 256}.{h % 256}",
    "source_parameter": _choice(SOURCE),
    "content_parameter": _tricky(60),
}

LM_SPECIAL: dict[str, Callable[[Ctx, int, int, int], Any]] = {
    "list_id": _ref("lists", 0),
    "prospect_id": _ref("prospects", 0),
    "created_by_id": _ref("users", 30),
    "updated_by_id": _ref("users", 30),
}

PA_SPECIAL: dict[str, Callable[[Ctx, int, int, int], Any]] = {
    "name": _choice([c for c in COMPANY if c] + ["Wayne Enterprises", "Stark, Industries"]),
    "description": _tricky(30),
    "billing_city": _choice(CITY),
    "billing_country": _choice(COUNTRY),
    "industry": _choice(INDUSTRY),
    "created_by_id": _ref("users", 30),
    "updated_by_id": _ref("users", 30),
    "assigned_to_id": _ref("users", 30),
}

SMALL_SPECIAL: dict[str, dict[str, Callable[[Ctx, int, int, int], Any]]] = {
    "campaigns": {"name": lambda ctx, h, k, c: f"Campaign {h % 1000}, wave {h % 7}",
                  "cost": lambda ctx, h, k, c: h % 500000 / 100,
                  "parent_campaign_id": _ref("campaigns", 70)},
    "lists": {"name": lambda ctx, h, k, c: f"List {h % 1000}",
              "campaign_id": _ref("campaigns", 30),
              "description": _tricky(50)},
    "users": {"email": lambda ctx, h, k, c: f"user{h % 1000}@example.com",
              "username": lambda ctx, h, k, c: f"user{h % 1000}@example.com.pardot",
              "first_name": _choice(FIRST),
              "last_name": _choice(LAST),
              "role": _choice(["Administrator", "Marketing", "Sales"]),
              "tag_replacement_language": _choice(["HML", "PML", None])},
    "tags": {"name": lambda ctx, h, k, c: f"tag-{h % 1000}"},
    "custom_fields": {
        "type": _choice(["Text", "Number", "Date", "Checkbox", "Dropdown"]),
    },
    "opportunities": {"campaign_id": _ref("campaigns", 10),
                      "probability": lambda ctx, h, k, c: mix(h + k) % 101,
                      "name": _tricky(0),
                      "stage": _choice(["Prospecting", "Negotiation", "Closed Won", None]),
                      "status": _choice(["Open", "Won", "Lost"]),
                      "closed_at": _after_created(30 * 86400)},
    "forms": {"campaign_id": _ref("campaigns", 10), "name": _tricky(0),
              "thank_you_content": _tricky(40), "embed_code": _tricky(40)},
    "emails": {"campaign_id": _ref("campaigns", 20), "prospect_id": _ref("prospects", 5),
               "list_id": _ref("lists", 50), "created_by_id": _ref("users", 20),
               "user_id": _ref("users", 20), "html_message": _tricky(10),
               "sender_options": lambda ctx, h, k, c: _options(ctx, h, k),
               "reply_to_options": lambda ctx, h, k, c: _options(ctx, h, k),
               "subject": _tricky(10), "type": _choice(["list", "oneToOne", "autoResponder"])},
    "visits": {"visitor_id": _ref("visitors", 0), "prospect_id": _ref("prospects", 50),
               "visitor_page_view_count": lambda ctx, h, k, c: 1 + mix(h + k) % 20,
               "duration_in_seconds": lambda ctx, h, k, c: mix(h + k) % 3600,
               "first_visitor_page_view_at": _after_created(60),
               "last_visitor_page_view_at": _after_created(3600),
               "source_parameter": _choice(SOURCE), "content_parameter": _tricky(60)},
    "visitor_page_views": {"visitor_id": _ref("visitors", 0), "visit_id": _ref("visits", 0),
                           "campaign_id": _ref("campaigns", 30),
                           "url": lambda ctx, h, k, c: f"https://example.com/p/{h % 997}?q=a,b",
                           "title": _tricky(20)},
    "lifecycle_histories": {"prospect_id": _ref("prospects", 0),
                            "previous_stage_id": lambda ctx, h, k, c: _maybe(
                                h, k, 1 + mix(h + k) % 6, 30),
                            "next_stage_id": lambda ctx, h, k, c: 1 + mix(h + k) % 6,
                            "seconds_elapsed": lambda ctx, h, k, c: mix(h + k) % 10**7},
    # The objects of issue #10: references to their parents, hostile text where free text goes.
    "custom_redirects": {"campaign_id": _ref("campaigns", 20), "name": _tricky(0),
                         "destination_url": lambda ctx, h, k, c:
                             f"https://example.com/r/{h % 97}?a=1,b=2",
                         "tracker_domain_id": _ref("tracker_domains", 30),
                         "folder_id": _ref("folders", 20)},
    "dynamic_contents": {"name": _tricky(0), "embed_code": _tricky(30),
                         "based_on": _choice(["Custom Field: Industry", "Grade", "Score"]),
                         "folder_id": _ref("folders", 20)},
    "dynamic_content_variations": {"dynamic_content_id": _ref("dynamic_contents", 0),
                                   "content": _tricky(10),
                                   "operator": _choice(["is", "contains", "is greater than"])},
    "email_templates": {"name": _tricky(0), "subject": _tricky(10),
                        "type": _choice(["html", "text", "htmlAndText"]),
                        "sender_options": lambda ctx, h, k, c: _options(ctx, h, k),
                        "reply_to_options": lambda ctx, h, k, c: _options(ctx, h, k),
                        "campaign_id": _ref("campaigns", 20)},
    "engagement_studio_programs": {"name": _tricky(0), "description": _tricky(40),
                                   "recipient_list_ids": lambda ctx, h, k, c: _list_ids(
                                       ctx, h, k, 1),
                                   "suppression_list_ids": lambda ctx, h, k, c: _list_ids(
                                       ctx, h, k, 0),
                                   "status": _choice(["draft", "running", "paused", "ended"]),
                                   "timezone": _choice(["America/New_York", "Europe/Paris"])},
    "external_activities": {"prospect_id": _ref("prospects", 0),
                            "type": _choice(["Webinar Attended", "Event, Registered", "Trial"]),
                            "value": _tricky(30),
                            "activity_date": lambda ctx, h, k, c: c - mix(h + k) % (5 * 86400)},
    "files": {"name": _tricky(0), "size": lambda ctx, h, k, c: mix(h + k) % 10**7,
              "url": lambda ctx, h, k, c: f"https://example.com/l/1/file{h % 997}.pdf",
              "folder_id": _ref("folders", 10)},
    "folders": {"name": _tricky(0), "parent_folder_id": _ref("folders", 30),
                "path": lambda ctx, h, k, c: f"/Marketing/Folder {h % 97}, \"Q{h % 4}\""},
    "folder_contents": {"folder_id": _ref("folders", 0), "object_name": _tricky(0),
                        "object_type": _choice(["Form", "LandingPage", "File", "ListEmail"])},
    "form_fields": {"form_id": _ref("forms", 0), "label": _tricky(10),
                    "sort_order": lambda ctx, h, k, c: mix(h + k) % 20,
                    "type": _choice(["Text", "Dropdown", "Checkbox", "Hidden"])},
    "form_handlers": {"name": _tricky(0), "campaign_id": _ref("campaigns", 10),
                      "folder_id": _ref("folders", 20)},
    "form_handler_fields": {"form_handler_id": _ref("form_handlers", 0),
                            "name": _tricky(0), "data_format": _choice(["text", "email", None])},
    "landing_pages": {"name": _tricky(0), "description": _tricky(40),
                      "form_id": _ref("forms", 30), "campaign_id": _ref("campaigns", 10),
                      "layout_template_id": _ref("layout_templates", 20),
                      "archive_date": lambda ctx, h, k, c: _maybe(
                          h, k, f"2026-0{1 + h % 9}-1{h % 10}", 60)},
    "layout_templates": {"name": _tricky(0), "layout_content": _tricky(20)},
    "lifecycle_stages": {"name": _choice(["Prospect", "MQL", "SQL", "Won", "Lost, \"late\""]),
                         "position": lambda ctx, h, k, c: mix(h + k) % 10,
                         "match_type": _choice(["all", "any"])},
    "list_emails": {"name": _tricky(0), "subject": _tricky(10),
                    "campaign_id": _ref("campaigns", 10),
                    "email_template_id": _ref("email_templates", 30),
                    "sender_options": lambda ctx, h, k, c: _options(ctx, h, k),
                    "reply_to_options": lambda ctx, h, k, c: _options(ctx, h, k)},
    "tagged_objects": {"target_object_type": _choice(["Prospect", "Form", "List", "Campaign"]),
                       "tag_name": _tricky(0), "tag_id": _ref("tags", 0)},
    "tracker_domains": {"domain": lambda ctx, h, k, c: f"go{h % 97}.example.com",
                        "validation_status": _choice(["default", "validated", "not validated"]),
                        "default_campaign_id": _ref("campaigns", 20)},
    "imports": {"status": _choice(["Complete", "Failed", "Processing", "Waiting", "Open"]),
                "origin": _choice(["api", "ui"])},
    "account": {"company": _tricky(0), "level": _choice(["Advanced"]),
                "maximum_daily_api_calls": lambda ctx, h, k, c: 100000},
    # v3/v4 only (legacy_extras.py)
    "email_clicks": {
        "prospect_id": _ref("prospects", 5),
        "url": lambda ctx, h, k, c: (_pick(h, k, TRICKY) if mix(h + k) % 4 == 0
                                     else f"https://example.com/l/{h % 997}?utm=a,b&x=\"q\""),
        # each optional id null about half the time: the v3/v4 reply then omits its key
        "list_email_id": lambda ctx, h, k, c: _maybe(h, k, ctx.ref("list_emails", h >> 9), 50),
        "drip_program_action_id": lambda ctx, h, k, c: _maybe(h, k, 1 + mix(h + k) % 90, 70),
        "email_template_id": lambda ctx, h, k, c: _maybe(h, k, 1 + mix(h + k) % 40, 60),
        "tracker_redirect_id": lambda ctx, h, k, c: _maybe(h, k, 1 + mix(h + k) % 30, 60),
    },
}


def builder_for(name: str, fields: list[tuple[str, str]],
                extra: dict[str, Callable[[Ctx, int, int, int], Any]] | None = None,
                ) -> Callable[..., list[Any]]:
    if name == "visitor_activities":
        return build_visitor_activity
    special = (extra or {}) | ({
        "prospects": PROSPECT_SPECIAL,
        "visitors": VISITOR_SPECIAL,
        "list_memberships": LM_SPECIAL,
        "prospect_accounts": PA_SPECIAL,
    }.get(name) or SMALL_SPECIAL.get(name, {}))
    generic = _generic(fields, special)
    if name == "visitors":
        idx_pid, idx_ident = [n for n, _ in fields].index("prospect_id"), [
            n for n, _ in fields].index("is_identified")

        def build_visitor(ctx: Ctx, rid: int, h: int, created: int, updated: int,
                          deleted: int) -> list[Any]:
            r = generic(ctx, rid, h, created, updated, deleted)
            r[idx_ident] = r[idx_pid] is not None
            return r

        return build_visitor
    if name == "custom_fields":
        from .custom import definition

        names = [n for n, _ in fields]
        i_name, i_fid, i_type = names.index("name"), names.index("field_id"), names.index("type")
        i_multi, i_api = names.index("is_record_multiple_responses"), names.index("api_field_id")

        def build_custom_field(ctx: Ctx, rid: int, h: int, created: int, updated: int,
                               deleted: int) -> list[Any]:
            r = generic(ctx, rid, h, created, updated, deleted)
            f = definition(ctx.tables["custom_fields"].find(rid), rid)
            r[i_name], r[i_fid], r[i_type], r[i_multi] = f.name, f.field_id, f.type, f.multiple
            r[i_api] = f.api_field_id
            return r

        return build_custom_field
    return generic
