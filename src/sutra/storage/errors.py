"""Errors shared by the engine, the server and the client.

The engine raises them, the server turns each into its gRPC status with the message
unchanged, and the client turns the status back into the same class, so a caller sees
the server's own words whichever side of the wire it is on.
"""

from __future__ import annotations

import grpc


class StorageError(Exception):
    """Base of every storage error; `code` is the gRPC status it travels as."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(StorageError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(StorageError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(StorageError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(StorageError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(StorageError):
    """The write queue is full (retry later) or the store reached its map size."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(StorageError):
    """The server is unreachable or shutting down."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(StorageError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Aborted(StorageError):
    """A write of a concept that is moving to another shard right now: send it again."""

    code = grpc.StatusCode.ABORTED


_BY_CODE: dict[grpc.StatusCode, type[StorageError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        ResourceExhausted,
        Unavailable,
        DeadlineExceeded,
        Aborted,
    )
}


def error_for(code: grpc.StatusCode, message: str) -> StorageError:
    """The exception for a gRPC status; unknown codes become a plain StorageError."""
    cls = _BY_CODE.get(code)
    if cls is None:
        error = StorageError(f"{code.name}: {message}")
        error.code = code
        return error
    return cls(message)
