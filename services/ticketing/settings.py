"""Ticketing's typed settings: the SLA timer's pace and the clock SLA decisions are made on."""

from typing import Any

from pydantic import Field, SecretStr

from shared.settings import CommaList, ServiceSettings

MIB = 1024 * 1024
# Azurite's built-in development account on this host (its key is the emulator's published
# one, no secret): what `make run` and the tests start; production names a real account
LOCAL_AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
    "KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)

# lower case, so no environment variable lands here: an object with now(), put in the config
# by a test that runs the container in its own process; the desk and the timer share it
INJECTED_CLOCK_KEY = "sla_clock"


class TicketingSettings(ServiceSettings):
    # keys are read as spelled (shared.settings), so an `SLA_CLOCK` from the environment never
    # passes for the injected clock
    service = "ticketing"
    production_keys = (*ServiceSettings.production_keys, "TICKETING_BLOB_CONNECTION_STRING")

    # seconds between two polls of the SLA timer, and the most due tickets one poll spawns
    sla_timer_interval: float = 5
    sla_timer_batch: int = 100
    # 0 outside tests and benchmarks, which move the service's clock ahead
    sla_clock_offset_seconds: float = 0
    sla_clock: Any = Field(default=None, alias=INJECTED_CLOCK_KEY)

    # attachments: the Azure Blob Storage account, a connection string as the portal's
    # "Access keys" page shows it (default: the local Azurite of `make run` and the tests)
    ticketing_blob_connection_string: SecretStr = SecretStr(LOCAL_AZURITE)
    # the largest file accepted, in bytes (the gateway allows the same on that route only)
    ticketing_attachment_max_bytes: int = Field(default=25 * MIB, gt=0)
    # tenant ids that may store executables and archives (refused with 415 for every other)
    ticketing_attachment_risky_tenants: CommaList = ()
    # the scanner of uploaded files, "module:Class" of a services.ticketing.scanning.Scanner
    ticketing_attachment_scanner: str = "services.ticketing.scanning:NotScanned"
    # how many bytes of a subject's files an export bundle carries inline (base64); the
    # others are listed without their content
    ticketing_export_file_bytes: int = Field(default=8 * MIB, ge=0)
