import os

import pytest

from tests.stack import Stack, private_var_dir, running_stack

SERVICES = ["gateway", "market-data", "index", "trading", "portfolio", "export"]


@pytest.mark.e2e
def test_every_service_answers_healthz_through_nginx(stack: Stack) -> None:
    with stack.client() as client:
        assert client.get("/healthz").status_code == 200
        for service in SERVICES:
            response = client.get(f"/healthz/{service}")
            assert response.status_code == 200, (service, response.text)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
def test_make_down_leaves_no_process_behind() -> None:
    with private_var_dir() as var_dir:
        with running_stack(var_dir):
            pids = [int(p.read_text()) for p in (var_dir / "run").glob("*.pid")]
            assert len(pids) >= 13
        assert not any(_group_alive(pid) for pid in pids)
        assert not list((var_dir / "run").glob("*.pid"))
