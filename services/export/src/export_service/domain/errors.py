"""Why an export cannot be made; the API maps each to its status code."""

from __future__ import annotations


class ExportError(Exception):
    """Base of the export's expected failures (never a 5xx)."""


class InvalidExportRequest(ExportError):
    """The request cannot describe an export (422)."""


class NoDataInRange(ExportError):
    """The index has no session in the range (404)."""


class UpstreamUnavailable(ExportError):
    """A service the export needs does not answer (503)."""


class UpstreamFailed(ExportError):
    """A service the export needs answered with an error or a malformed document (502)."""


class InconsistentSnapshot(ExportError):
    """The index data changed while the export was reading it (503, retry)."""


class KindNotAvailable(ExportError):
    """This kind of export has no data source yet (501)."""


class ExportNotFound(ExportError):
    """No export with that id for this caller (404)."""


class ExportNotReady(ExportError):
    """The export exists but its file is not there (yet, or any more)."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


class CallerRequired(ExportError):
    """A private export needs the caller's identity (401)."""
