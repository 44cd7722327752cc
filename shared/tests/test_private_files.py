import stat
from pathlib import Path

from shared.db import make_engine, sqlite_url
from shared.settings import ServiceName, ServiceSettings
from sqlalchemy import text


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_services_data_folder_is_private_to_its_user(tmp_path: Path) -> None:
    settings = ServiceSettings(var_dir=tmp_path / "var")

    folder = settings.data_dir(ServiceName.GATEWAY)

    assert _mode(folder) == 0o700
    assert _mode(folder.parent) == 0o700


def test_a_sqlite_database_and_its_wal_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = ServiceSettings(var_dir=tmp_path).data_dir(ServiceName.TRADING) / "trading.sqlite"
    engine = make_engine(sqlite_url(path))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))

    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    assert all(_mode(f) == 0o600 for f in files if f.exists())
    assert path.with_name(path.name + "-wal").exists()
    engine.dispose()


def test_an_existing_world_readable_database_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)

    make_engine(sqlite_url(path)).dispose()

    assert _mode(path) == 0o600
