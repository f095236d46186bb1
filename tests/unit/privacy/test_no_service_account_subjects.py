"""A service account holds no personal data: privacy takes no request for one, nor from one."""

import uuid

import pytest

from services.privacy import application
from services.privacy.exceptions import NotADataSubject
from shared.auth import new_service_account_id


def _submit(user_id, subject_id, roles=("privacy_officer",), kind="export"):
    # refused before any database work: no unit of work is needed to say no
    return application.submit(None, None, None, str(uuid.uuid4()), user_id, roles, kind, subject_id)


@pytest.mark.parametrize("kind", ["export", "erasure", "rectification"])
def test_an_officers_request_for_a_service_account_is_refused(kind):
    with pytest.raises(NotADataSubject) as refused:
        _submit(str(uuid.uuid4()), new_service_account_id(), kind=kind)
    assert refused.value.status == 422


def test_a_service_account_files_no_request_even_for_a_person():
    with pytest.raises(NotADataSubject):
        _submit(new_service_account_id(), str(uuid.uuid4()), roles=("agent",))
