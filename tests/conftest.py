from collections.abc import Iterator

import pytest

from tests.stack import Stack, private_var_dir, running_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The whole platform, started once for the cross-service tests, with two users."""
    with private_var_dir() as var_dir, running_stack(var_dir) as started:
        started.create_user("alice")
        started.create_user("bob")
        yield started
