"""The Singer message writer: the SDK's, flushing stdout only where it matters."""

from __future__ import annotations

import sys

from singer_sdk.singerlib.encoding import SimpleSingerWriter, SingerMessageType
from singer_sdk.singerlib.messages import Message
from typing_extensions import override


class PardotSingerWriter(SimpleSingerWriter):
    """Flushes stdout after SCHEMA and STATE messages, not after every RECORD.

    A STATE message is written after the records it covers, so flushing with it keeps the
    target's view consistent; records in between leave through the ordinary stdout buffer.
    A flush per record cost about a tenth of a large export's run time.
    """

    @override
    def write_message(self, message: Message) -> None:
        sys.stdout.write(self.format_message(message) + "\n")
        if message.type != SingerMessageType.RECORD:
            sys.stdout.flush()
