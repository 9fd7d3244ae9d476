"""TapPardot: settings, the stream registry and the run-wide context (gate, credentials)."""

from __future__ import annotations

import itertools
import json
import logging
import signal
import sys
import threading
import time
import typing as t
from functools import cached_property

import requests
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_pardot.auth import build_authenticator
from tap_pardot.client import GatedSession, RunContext
from tap_pardot.clock import PardotClock
from tap_pardot.custom_fields import CustomFieldsMixin
from tap_pardot.limits import ApiUsage, DailyLimitReached, Interrupted, RequestGate
from tap_pardot.object_stream import StreamFailed
from tap_pardot.progress import metrics_level, run_summary
from tap_pardot.retry import retrying
from tap_pardot.settings import (
    CONFIG_SCHEMA,
    ConfigError,
    Settings,
    check_config,
    numbers_from_strings,
)
from tap_pardot.state import StateError
from tap_pardot.streams import STREAM_TYPES
from tap_pardot.writer import PardotSingerWriter

TOKEN_TRIES = 4

if t.TYPE_CHECKING:
    from tap_pardot.client import PardotStream


class TapPardot(Tap):
    """Singer tap for Salesforce Pardot (Marketing Cloud Account Engagement)."""

    name = "tap-pardot"
    package_name = "tap-pardot"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = PardotSingerWriter

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # The SDK's METRIC lines are off unless asked for (progress.py says how).
        self.metrics_logger.setLevel(metrics_level(self.config))

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The SDK checks the JSON schema; check_config adds the rules it cannot express.
        self._config = numbers_from_strings(self._config)  # "0.5" from Meltano, ENV
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
        # Checked again: `--discover` builds the tap without raising on config errors.
        flow = check_config(self.config)
        settings = Settings.parse(self.config)
        gate = RequestGate(settings.max_concurrency, settings.max_api_calls,
                           ApiUsage(settings.api_quota_reserve))
        clock = PardotClock()
        session = GatedSession(gate, clock)
        timeout = settings.request_timeout_seconds

        def post(url: str, form: dict[str, str]) -> requests.Response:
            """A token or login call: 5xx and dropped connections are tried again."""
            return retrying(lambda: session.post(url, data=form, timeout=timeout),
                            again=token_call_failed, tries=TOKEN_TRIES,
                            factor=context.backoff_factor)

        context = RunContext(settings=settings, gate=gate, flow=flow, clock=clock,
                             authenticator=None)  # type: ignore[arg-type]  # set just below
        authenticator = build_authenticator(self.config, flow, settings, post=post)
        context.authenticator = authenticator
        context.next_stream = self.next_selected_stream
        if threading.current_thread() is threading.main_thread():
            # Instead of the SDK's handlers (which exit 0 at once): stop at the next safe
            # point, state saved, and say so by the exit status (see main()).
            signal.signal(signal.SIGTERM, context.interrupt)
            signal.signal(signal.SIGINT, context.interrupt)
        RUNS.append(context)
        return context

    def next_selected_stream(self, name: str) -> PardotStream | None:
        """The selected stream the SDK syncs after `name` (its order: the streams'), if any."""
        names = [key for key, stream in self.streams.items() if stream.selected]
        later = names[names.index(name) + 1:] if name in names else []
        return t.cast("PardotStream", self.streams[later[0]]) if later else None

    @override
    def discover_streams(self) -> list[PardotStream]:
        streams: list[PardotStream] = [cls(tap=self, run=self.run) for cls in STREAM_TYPES]
        if self.input_catalog is None:  # else the catalog's schema names the custom fields
            for stream in streams:
                if isinstance(stream, CustomFieldsMixin):
                    stream.discover_custom_fields()  # one call; a warning if it fails
        return streams


def token_call_failed(outcome: object) -> bool:
    """A token or login reply worth another try: a 5xx, or no reply at all."""
    if isinstance(outcome, requests.Response):
        return outcome.status_code >= 500
    return isinstance(outcome, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))


# The runs of this process (the CLI makes one): main() reads how the last one ended.
RUNS: list[RunContext] = []
EXIT_DAILY_LIMIT = 75  # EX_TEMPFAIL: run again after the account's day resets


def exit_status(run: RunContext | None) -> tuple[int, str | None]:
    """How a finished run ends: (status, one line for stderr or None)."""
    if run is None:
        return 0, None
    stopped = run.stopped
    if isinstance(stopped, DailyLimitReached):
        return EXIT_DAILY_LIMIT, f"tap-pardot: {stopped}"
    if isinstance(stopped, Interrupted):
        line = (f"tap-pardot: {stopped} after {run.records} records; the state is saved: "
                "the next run resumes from it")
        return 128 + stopped.signum, line
    return 0, None  # done, or a planned stop (max_api_calls, api_quota_reserve): logged


def log_summary(*, failed: bool = False) -> None:
    """The run's last line: how it ended, its streams, records and API calls, and the
    account's daily API usage."""
    if RUNS:
        run = RUNS[-1]
        outcome = "failed" if failed else "stopped early" if run.stopped else "done"
        logging.getLogger(TapPardot.name).info("%s", run_summary(
            outcome, time.monotonic() - run.started, run.streams, run.records, run.gate.calls,
            run.gate.usage.summary()))


def unreadable_input(args: list[str]) -> str | None:
    """A one-line complaint about a --config, --state or --catalog file that is not JSON
    (the SDK would answer with a traceback), or None."""
    for flag, path in itertools.pairwise(args):
        if flag in ("--config", "--state", "--catalog") and path != "ENV":
            try:
                with open(path, encoding="utf-8") as file:
                    json.load(file)
            except FileNotFoundError:
                return f"{flag} {path}: no such file"
            except (OSError, ValueError) as exc:
                return f"{flag} {path} is not readable JSON: {exc}"
    return None


def main() -> None:
    """The `tap-pardot` command: the SDK's CLI. Exit status 1 with one line on a bad config
    or a failed stream, 75 on Pardot's daily limit, 143/130 when stopped by SIGTERM/SIGINT;
    the state written before any of them lets the next run resume."""
    unreadable = unreadable_input(sys.argv[1:])
    if unreadable:
        sys.exit(f"tap-pardot: {unreadable}")
    try:
        TapPardot.cli()
    except (ConfigValidationError, ConfigError, StateError, StreamFailed) as exc:
        log_summary(failed=True)
        sys.exit(f"tap-pardot: {exc}")
    except SystemExit as done:  # click ends every command with one
        log_summary(failed=done.code not in (0, None))
        if done.code not in (0, None):
            raise
        status, line = exit_status(RUNS[-1] if RUNS else None)
        if line:
            print(line, file=sys.stderr)
        sys.exit(status)


if __name__ == "__main__":
    main()
