"""The settings contract (names fixed by the design), its one-line checks, and `Settings`,
the settings parsed once for a run."""

from __future__ import annotations

import datetime as dt
import math
import typing as t
import zoneinfo
from dataclasses import dataclass

from singer_sdk import typing as th

from tap_pardot.times import parse_utc

AUTH_FLOWS = ("refresh_token", "jwt_bearer", "client_credentials", "legacy")
SYNC_MODES = ("auto", "export", "query")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

API_HOSTS = {False: "https://pi.pardot.com", True: "https://pi.demo.pardot.com"}
AUTH_HOSTS = {False: "https://login.salesforce.com", True: "https://test.salesforce.com"}

_S = th.Property
CONFIG_SCHEMA = th.PropertiesList(
    _S("start_date", th.DateTimeType, required=True,
       description="Earliest `updated_at` to extract on a first run."),
    _S("end_date", th.DateTimeType, description="Upper bound, for bounded backfills."),
    _S("client_id", th.StringType, description="Salesforce connected app's client id."),
    _S("client_secret", th.StringType, secret=True,
       description="Salesforce connected app's client secret (refresh-token and "
       "client-credentials flows)."),
    _S("refresh_token", th.StringType, secret=True,
       description="Salesforce OAuth refresh token (refresh-token flow)."),
    _S("username", th.StringType,
       description="Salesforce username, the JWT subject (JWT bearer flow)."),
    _S("private_key", th.StringType, secret=True,
       description="PEM RSA private key signing the JWT assertion (JWT bearer flow)."),
    _S("private_key_passphrase", th.StringType, secret=True,
       description="Passphrase of `private_key`, if it is encrypted."),
    _S("jwt_audience", th.URIType,
       description="The JWT assertion's `aud` (JWT bearer flow): by default "
       "https://login.salesforce.com, or https://test.salesforce.com with `is_sandbox`, "
       "whatever `auth_base_url` is (Salesforce takes no My Domain URL there)."),
    _S("auth_flow", th.StringType(allowed_values=list(AUTH_FLOWS)),
       description="Auth flow; inferred from the keys given when not set."),
    _S("email", th.StringType, description="Pardot user email (legacy login, API v3/v4)."),
    _S("password", th.StringType, secret=True,
       description="Pardot user password (legacy login, API v3/v4)."),
    _S("user_key", th.StringType, secret=True,
       description="Pardot user key (legacy login, API v3/v4)."),
    _S("pardot_business_unit_id", th.StringType,
       description="Business unit id (0Uv…), sent as `Pardot-Business-Unit-Id`; "
       "required for OAuth."),
    _S("api_version", th.IntegerType(allowed_values=[3, 4, 5]), default=5,
       description="Which Pardot API to call: 3, 4 or 5."),
    _S("is_sandbox", th.BooleanType, default=False,
       description="Use pi.demo.pardot.com and test.salesforce.com."),
    _S("api_base_url", th.URIType,
       description="Overrides the API host (a simulator, a proxy)."),
    _S("auth_base_url", th.URIType,
       description="Overrides the OAuth token host (My Domain, a simulator)."),
    _S("timezone", th.StringType, default="UTC",
       description="IANA timezone of the Pardot API user: naive timestamps (v3/v4, "
       "export CSVs) are read in it."),
    _S("sync_mode", th.StringType(allowed_values=list(SYNC_MODES)), default="auto",
       description="How streams fetch records: auto, export or query."),
    _S("stream_sync_modes", th.ObjectType(additional_properties=th.StringType(
        allowed_values=list(SYNC_MODES))), default={},
       description="Per-stream override of `sync_mode`: stream name -> mode."),
    _S("export_window_days", th.IntegerType(minimum=1, maximum=365), default=365,
       description="Upper bound on one export's date window, in days (backfills grow "
       "windows newest first, a month, three, eight, then a year, up to it)."),
    _S("export_poll_seconds", th.NumberType(exclusive_minimum=0), default=60,
       description="Unit of the export poll schedule: the n-th poll waits "
       "`export_poll_seconds * ceil(n^2/5 + 1)`, after a first look within seconds; the "
       "stream's recent export durations start the schedule near the expected end and "
       "may shorten the unit for exports that finish fast."),
    _S("export_timeout_hours", th.NumberType(exclusive_minimum=0), default=24,
       description="An export still Processing after this many hours stops the stream "
       "(clear error, state kept); one still Waiting after a quarter of it is canceled, made "
       "again once, then its window is queried."),
    _S("max_concurrency", th.IntegerType(minimum=1, maximum=5), default=5,
       description="Requests in flight at once, across all work of the run."),
    _S("page_size", th.IntegerType(minimum=1),
       description="Records per query page (default 1000 on v5, 200 on v3/v4)."),
    _S("max_api_calls", th.IntegerType(minimum=1),
       description="API call budget for one run: stop cleanly with state saved "
       "before exceeding it."),
    _S("api_quota_reserve", th.NumberType(minimum=0),
       description="Daily API calls left for the account's other integrations (default 10% "
       "of the account's daily limit): stop cleanly with state saved before crossing it."),
    _S("request_timeout_seconds", th.NumberType(exclusive_minimum=0), default=300,
       description="Timeout of one HTTP request, in seconds."),
    _S("include_deleted", th.BooleanType, default=True,
       description="Also extract records in the recycle bin, flagged `is_deleted`."),
    _S("metrics_log_level", th.StringType(allowed_values=list(LOG_LEVELS)), default="WARNING",
       description="Level of the SDK's `METRIC` log lines (JSON: request durations, record "
       "counts): `WARNING` hides them, `INFO` shows them. Their `record_count` values are "
       "increments since the stream's previous one, not totals. A `SINGER_SDK_LOG_CONFIG` "
       "file that sets the `singer_sdk.metrics` logger's level wins."),
).to_dict()


class ConfigError(ValueError):
    """A configuration problem, phrased as one line naming the setting."""


_FLOW_KEYS = {
    "jwt_bearer": ("client_id", "username", "private_key"),
    "refresh_token": ("client_id", "client_secret", "refresh_token"),
    "client_credentials": ("client_id", "client_secret"),
    "legacy": ("email", "password", "user_key"),
}


def infer_auth_flow(config: t.Mapping[str, t.Any]) -> str:
    """The explicit `auth_flow`, else the first flow whose keys are all given."""
    if flow := config.get("auth_flow"):
        return str(flow)
    for flow in ("jwt_bearer", "refresh_token", "legacy"):
        if all(config.get(key) for key in _FLOW_KEYS[flow]):
            return flow
    if config.get("client_id") and config.get("client_secret"):
        if config.get("auth_base_url"):  # a My Domain host: client credentials work there
            return "client_credentials"
        msg = (
            "Setting `refresh_token` is missing (or set `auth_flow: client_credentials` "
            "with your My Domain URL as `auth_base_url`)"
        )
        raise ConfigError(msg)
    msg = (
        "No credentials: set `client_id`, `client_secret` and `refresh_token` "
        "(or `username` + `private_key` for JWT, or `auth_flow: client_credentials`)"
    )
    raise ConfigError(msg)


def check_config(config: t.Mapping[str, t.Any]) -> str:
    """Validate what the JSON schema cannot; return the auth flow. Raises ConfigError."""
    flow = infer_auth_flow(config)
    missing = [key for key in _FLOW_KEYS[flow] if not config.get(key)]
    if missing:
        msg = f"auth_flow {flow} needs setting `{missing[0]}`"
        raise ConfigError(msg)
    if flow == "client_credentials" and not config.get("auth_base_url"):
        msg = "auth_flow client_credentials needs setting `auth_base_url` (your My Domain URL)"
        raise ConfigError(msg)
    version = int(config.get("api_version") or DEFAULTS["api_version"])
    if flow == "legacy" and version == 5:
        msg = "auth_flow legacy works with `api_version` 3 or 4 only; v5 needs OAuth"
        raise ConfigError(msg)
    if flow != "legacy" and not config.get("pardot_business_unit_id"):
        msg = "Setting `pardot_business_unit_id` is required for OAuth (an 18-char id, 0Uv…)"
        raise ConfigError(msg)
    start, end = _setting_date(config, "start_date"), _setting_date(config, "end_date")
    if start is not None and start > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1):
        msg = f"Setting `start_date` is in the future ({config['start_date']}): nothing to extract"
        raise ConfigError(msg)
    if start is not None and end is not None and end <= start:
        msg = (f"Setting `end_date` ({config['end_date']}) is not after `start_date` "
               f"({config['start_date']})")
        raise ConfigError(msg)
    tz = config.get("timezone") or DEFAULTS["timezone"]
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        msg = f"Setting `timezone` is not an IANA timezone name: {tz!r}"
        raise ConfigError(msg) from None
    modes = config.get("stream_sync_modes") or {}
    for stream, mode in modes.items():
        if mode not in SYNC_MODES:
            msg = f"Setting `stream_sync_modes.{stream}` must be one of {', '.join(SYNC_MODES)}"
            raise ConfigError(msg)
    return flow


DEFAULTS: dict[str, t.Any] = {name: prop["default"] for name, prop
                               in CONFIG_SCHEMA["properties"].items() if "default" in prop}
NUMBER_SETTINGS = tuple(name for name, prop in CONFIG_SCHEMA["properties"].items()
                        if "number" in prop["type"])


def numbers_from_strings(config: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """`config` with number settings given as strings ("0.5") read as numbers: Meltano passes
    them so (its `decimal` kind cannot write a value from the environment, so meltano.yml
    declares them `string`), as does the SDK's `--config ENV`. Anything else is left for the
    schema check to refuse."""
    out = dict(config)
    for name in NUMBER_SETTINGS:
        value = out.get(name)
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                continue
            if math.isfinite(number):
                out[name] = number
    return out


@dataclass(frozen=True)
class Settings:
    """The settings a run reads, parsed once from the config (defaults: the schema's only).
    Credentials stay in the config: only auth.py reads them."""

    api_version: int
    end_date: dt.datetime | None
    timezone: zoneinfo.ZoneInfo
    sync_mode: str
    stream_sync_modes: t.Mapping[str, str]
    export_window_days: int
    export_poll_seconds: float
    export_timeout_hours: float
    max_concurrency: int
    page_size: int
    max_api_calls: int | None
    api_quota_reserve: float | None  # None: 10% of the account's daily limit
    request_timeout_seconds: float
    include_deleted: bool
    api_base_url: str
    auth_base_url: str
    jwt_audience: str

    @classmethod
    def parse(cls, config: t.Mapping[str, t.Any]) -> Settings:
        """Settings from a config (as checked by `check_config`)."""
        c = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
        version = int(c["api_version"])
        cap = 1000 if version == 5 else 200  # a query page's maximum
        sandbox = bool(c["is_sandbox"])
        end = c.get("end_date")
        return cls(
            api_version=version,
            end_date=parse_utc(end) if end else None,
            timezone=zoneinfo.ZoneInfo(c["timezone"]),
            sync_mode=str(c["sync_mode"]),
            stream_sync_modes=dict(c["stream_sync_modes"]),
            export_window_days=int(c["export_window_days"]),
            export_poll_seconds=float(c["export_poll_seconds"]),
            export_timeout_hours=float(c["export_timeout_hours"]),
            max_concurrency=int(c["max_concurrency"]),
            page_size=min(int(c.get("page_size") or cap), cap),
            max_api_calls=int(c["max_api_calls"]) if c.get("max_api_calls") else None,
            api_quota_reserve=(float(c["api_quota_reserve"])
                               if c.get("api_quota_reserve") is not None else None),
            request_timeout_seconds=float(c["request_timeout_seconds"]),
            include_deleted=bool(c["include_deleted"]),
            api_base_url=str(c.get("api_base_url") or API_HOSTS[sandbox]).rstrip("/"),
            auth_base_url=str(c.get("auth_base_url") or AUTH_HOSTS[sandbox]).rstrip("/"),
            jwt_audience=str(c.get("jwt_audience") or AUTH_HOSTS[sandbox]).rstrip("/"),
        )


def _setting_date(config: t.Mapping[str, t.Any], name: str) -> dt.datetime | None:
    """A date-time setting as aware UTC (None if unset); one line if it is not ISO 8601."""
    value = config.get(name)
    if not value:
        return None
    try:
        return parse_utc(str(value))
    except ValueError:
        msg = (f"Setting `{name}` is not an ISO 8601 date-time: {value!r} (for example "
               "2025-01-01T00:00:00Z)")
        raise ConfigError(msg) from None
