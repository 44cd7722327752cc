from collections.abc import Iterator

import pytest

from tests.stack import Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole platform, started once for the cross-service tests, with two users."""
    with running_stack(tmp_path_factory.mktemp("stack") / "var") as started:
        started.create_user("alice")
        started.create_user("bob")
        yield started
