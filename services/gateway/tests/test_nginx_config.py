"""The rendered nginx.conf: the auth_request cache, its key, its directory (no nginx run)."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest
from gateway.domain.access import required_scope
from gateway.nginx.render import NginxConfig, prepare_auth_cache, render_nginx
from gateway.settings import GatewaySettings


def _render(tmp_path: Path, **settings: object) -> str:
    config = GatewaySettings(var_dir=tmp_path, nginx_auth_cache_dir=tmp_path / "auth", **settings)
    return NginxConfig(config).render()


def _location(config: str, name: str) -> str:
    start = config.index(f"location = {name} {{")
    return config[start : config.index("}", start)]


def test_only_the_required_auth_check_is_cached_for_the_configured_seconds(
    tmp_path: Path,
) -> None:
    config = _render(tmp_path, nginx_auth_cache_seconds=2)
    required, optional = _location(config, "/_auth"), _location(config, "/_auth_optional")
    assert "proxy_cache gateway_auth;" in required
    assert "proxy_cache_valid 200 2s;" in required  # refusals (401/403) are never cached
    assert "proxy_cache_use_stale" not in config
    assert "proxy_cache" not in optional
    key = re.search(r'proxy_cache_key "([^"]+)";', required)
    assert key is not None
    for part in (
        "$http_apca_api_key_id",
        "$http_apca_api_secret_key",
        "$http_authorization",
        "$auth_scope_needed",
    ):
        assert part in key.group(1)
    assert f"proxy_cache_path {tmp_path / 'auth'} " in config
    assert "worker_processes auto;" in config


def test_no_answer_is_cached_when_the_auth_cache_time_is_zero(tmp_path: Path) -> None:
    config = _render(tmp_path, nginx_auth_cache_seconds=0)
    assert "proxy_cache" not in config.replace("# auth_request answers are not cached", "")
    assert not (tmp_path / "auth").exists()


def test_the_scope_nginx_keys_its_cache_on_agrees_with_required_scope(tmp_path: Path) -> None:
    config = _render(tmp_path)
    block = config[config.index("$auth_scope_needed {") : config.index("default trade;")]
    rules = [(re.compile(p), s) for p, s in re.findall(r'"~(.+?)" (\w+);', block)]
    assert rules

    def nginx_scope(method: str, uri: str) -> str:
        subject = f"{method}:{uri}"
        return next((scope for rx, scope in rules if rx.search(subject)), "trade")

    for method in ("GET", "HEAD", "OPTIONS", "POST", "PATCH", "PUT", "DELETE"):
        for uri in ("/v2/account", "/v2/orders/x?y=/admin/", "/admin/keys", "/admin/users?x=1"):
            assert nginx_scope(method, uri) == required_scope(method, uri).value, (method, uri)


def test_the_auth_cache_directory_is_emptied_private_and_never_a_symlink(tmp_path: Path) -> None:
    cache = tmp_path / "auth"
    settings = GatewaySettings(var_dir=tmp_path, nginx_auth_cache_dir=cache)
    render_nginx(settings)
    (cache / "a").mkdir()
    (cache / "a" / "entry").write_text("KEY: read|PK|secret|")
    render_nginx(settings)
    assert list(cache.iterdir()) == []
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    target = tmp_path / "elsewhere"
    target.mkdir()
    planted = tmp_path / "planted"
    planted.symlink_to(target)
    with pytest.raises(RuntimeError, match="symlink"):
        prepare_auth_cache(planted)


def test_the_default_auth_cache_lives_on_tmpfs_one_directory_per_nginx_prefix(
    tmp_path: Path,
) -> None:
    one = GatewaySettings(var_dir=tmp_path / "one").nginx_auth_cache_path()
    two = GatewaySettings(var_dir=tmp_path / "two").nginx_auth_cache_path()
    assert one != two
    if Path("/dev/shm").is_dir():
        assert one.parent == Path("/dev/shm")


def test_rendering_drops_default_auth_caches_of_prefixes_that_are_gone(tmp_path: Path) -> None:
    if not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm")
    gone = GatewaySettings(var_dir=tmp_path / "gone")
    kept = GatewaySettings(var_dir=tmp_path / "kept")
    render_nginx(gone)
    render_nginx(kept)
    gone_cache, kept_cache = gone.nginx_auth_cache_path(), kept.nginx_auth_cache_path()
    try:
        (gone_cache / "entry").write_text("KEY: read|PK|secret|")
        shutil.rmtree(tmp_path / "gone")
        render_nginx(kept)
        assert not gone_cache.exists()
        assert not gone_cache.with_name(gone_cache.name + ".prefix").exists()
        assert kept_cache.is_dir()
    finally:
        for cache in (gone_cache, kept_cache):
            shutil.rmtree(cache, ignore_errors=True)
            cache.with_name(cache.name + ".prefix").unlink(missing_ok=True)
