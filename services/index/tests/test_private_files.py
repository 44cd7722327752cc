import stat
from pathlib import Path

from index_service.adapters.store import DuckStore


def test_the_duckdb_file_is_readable_by_its_owner_only_in_a_private_folder(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index" / "index.duckdb"

    store = DuckStore(path)
    store.close()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
