"""Errors the membership domain raises when a command breaks a rule."""

from __future__ import annotations


class DomainError(Exception):
    """A command the tenant's current state does not allow; the service maps each subclass."""


class UnknownRole(DomainError):
    pass


class NotAMember(DomainError):
    pass


class AlreadyMember(DomainError):
    pass


class LastAdmin(DomainError):
    pass


class UnknownServiceAccount(DomainError):
    pass


class ForbiddenRole(DomainError):
    """A role a service account cannot hold (admin, privacy_officer)."""


class TooManySecrets(DomainError):
    pass
