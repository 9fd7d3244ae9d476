"""TapPardot: settings, the stream registry, the run-wide context and the connection test."""

from __future__ import annotations

import sys
import typing as t
from functools import cached_property

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_pardot.auth import AuthError, build_authenticator
from tap_pardot.client import GatedSession, PardotAPIError, RunContext
from tap_pardot.limits import RequestGate, StopRun
from tap_pardot.settings import (
    CONFIG_SCHEMA,
    ConfigError,
    api_base_url,
    auth_base_url,
    check_config,
)
from tap_pardot.streams import STREAM_TYPES

if t.TYPE_CHECKING:
    import requests

    from tap_pardot.client import PardotStream


class TapPardot(Tap):
    """Singer tap for Salesforce Pardot (Marketing Cloud Account Engagement)."""

    name = "tap-pardot"
    package_name = "tap-pardot"
    config_jsonschema = CONFIG_SCHEMA

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The SDK checks the JSON schema; check_config adds the rules it cannot express.
        errors = super()._validate_config(raise_errors=False)
        if not errors:
            try:
                check_config(self.config)
            except ConfigError as exc:
                errors.append(str(exc))
        if errors and raise_errors:
            raise ConfigValidationError(f"Config error: {errors[0]}", errors=errors)
        return errors

    @cached_property
    def run(self) -> RunContext:
        """One gate, one authenticator and one stop reason for every stream of the run."""
        config = self.config
        gate = RequestGate(int(config.get("max_concurrency") or 5), config.get("max_api_calls"))
        flow = check_config(config)
        session = GatedSession(gate)
        timeout = float(config.get("request_timeout_seconds") or 300)

        def post(url: str, form: dict[str, str]) -> requests.Response:
            return session.post(url, data=form, timeout=timeout)

        authenticator = build_authenticator(
            config, flow, api_url=api_base_url(config), auth_url=auth_base_url(config),
            post=post,
        )
        return RunContext(gate=gate, authenticator=authenticator, flow=flow)

    @override
    def discover_streams(self) -> list[PardotStream]:
        return [cls(tap=self) for cls in STREAM_TYPES]

    @override
    def sync_all(self) -> None:
        try:
            super().sync_all()
        except (AuthError, PardotAPIError) as exc:
            self.logger.error("%s", exc)
            sys.exit(1)
        if reason := self.run.stop_reason:
            self.logger.warning("Run stopped early: %s", reason)

    @override
    def run_connection_test(self) -> bool:
        """Authenticate and read one record of one stream: the `--test` check.

        Exits with status 1 and a one-line reason when the credentials or hosts are wrong.
        """
        stream = self.streams["visitor_activities"]
        try:
            self.run.authenticator  # noqa: B018 - build it (config errors surface here)
            url = stream.get_url(None)
            if stream.api_version == 5:
                params: dict[str, t.Any] = {"fields": "id,updatedAt", "limit": 1}
            else:
                params = {"format": "json", "output": "bulk", "limit": 1}
            stream.pardot_request("GET", url, params=params).close()
        except (AuthError, PardotAPIError, StopRun, ConfigError) as exc:
            self.logger.error("Connection test failed: %s", exc)
            sys.exit(1)  # the SDK's --test ignores the result: fail the process
        self.logger.info("Connection test passed: authenticated and read %s", url)
        return True



if __name__ == "__main__":
    TapPardot.cli()
