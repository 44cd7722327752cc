"""/v2/watchlists: the caller's watchlists, by id and by name (Alpaca shapes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from shared.asset_ids import as_uuid
from shared.errors import ApiError, ORJSONResponse
from shared.identity import CurrentCaller, TradingCaller
from shared.symbols import canonical_symbol

from trading.adapters import watchlists as store
from trading.adapters.market_data import SymbolDirectory
from trading.api.orders import Deps
from trading.domain.orders import SYMBOL

router = APIRouter(prefix="/v2", tags=["watchlists"])
Name = Annotated[str, Query(min_length=1, max_length=64)]


class WatchlistIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(default=None, min_length=1, max_length=64)
    symbols: list[str] | None = Field(default=None, max_length=1000)


class SymbolIn(BaseModel):
    symbol: str = Field(min_length=1, max_length=16)


def assets_of(directory: SymbolDirectory, symbols: tuple[str, ...]) -> list[dict[str, Any]]:
    ask = getattr(directory, "asset", None)
    found = [ask(s) if ask is not None else None for s in symbols]
    return [a for a in found if a is not None]


def checked(directory: SymbolDirectory, symbols: list[str]) -> tuple[str, ...]:
    """In the canonical form (``BRK-B`` is ``BRK.B``), de-duplicated in order, each an asset
    market-data knows (else 422)."""
    clean = tuple(dict.fromkeys(canonical_symbol(s) for s in symbols))
    ask = getattr(directory, "asset", None)
    for symbol in clean:
        if not SYMBOL.match(symbol) or (ask is not None and ask(symbol) is None):
            raise ApiError(422, f'asset "{symbol}" not found', code=40010001)
    return clean


def watchlist_json(
    w: store.Watchlist, directory: SymbolDirectory, with_assets: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": w.id,
        "account_id": as_uuid(w.account_id, "account"),
        "name": w.name,
        "created_at": w.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": w.updated_at.isoformat().replace("+00:00", "Z"),
    }
    if with_assets:
        body["assets"] = assets_of(directory, w.symbols)
    return body


def located(db: Any, account_id: str, id: str | None, name: str | None) -> store.Watchlist:
    found = store.find(db, account_id, id=id, name=name)
    if found is None:
        raise ApiError(404, "watchlist not found", code=40410000)
    return found


@router.get("/watchlists", summary="List watchlists")
def list_watchlists(caller: CurrentCaller, deps: Deps) -> ORJSONResponse:
    """The caller's watchlists (without their assets, as Alpaca lists them)."""
    with deps.engine.connect() as db:
        found = store.list_for(db, caller.user_id)
        db.rollback()
    return ORJSONResponse([watchlist_json(w, deps.symbols, False) for w in found])


@router.post("/watchlists", summary="Create a watchlist")
def create_watchlist(body: WatchlistIn, caller: TradingCaller, deps: Deps) -> ORJSONResponse:
    """A new watchlist; its name is unique among the caller's."""
    if body.name is None:
        raise ApiError(422, "name is required", code=40010001)
    symbols = checked(deps.symbols, body.symbols or [])
    now = deps.clock.now()
    with deps.write() as db:
        if store.name_taken(db, caller.user_id, body.name):
            raise ApiError(422, "watchlist name must be unique", code=40010001)
        w = store.Watchlist(store.new_id(), caller.user_id, body.name, now, now, symbols)
        store.save(db, w, is_new=True)
    return ORJSONResponse(watchlist_json(w, deps.symbols))


def _get(caller_id: str, deps: Any, id: str | None, name: str | None) -> ORJSONResponse:
    with deps.engine.connect() as db:
        found = located(db, caller_id, id, name)
        db.rollback()
    return ORJSONResponse(watchlist_json(found, deps.symbols))


def _update(
    caller_id: str, deps: Any, id: str | None, name: str | None, body: WatchlistIn
) -> ORJSONResponse:
    symbols = None if body.symbols is None else checked(deps.symbols, body.symbols)
    with deps.write() as db:
        old = located(db, caller_id, id, name)
        if body.name and store.name_taken(db, caller_id, body.name, except_id=old.id):
            raise ApiError(422, "watchlist name must be unique", code=40010001)
        new = store.Watchlist(
            old.id, caller_id, body.name or old.name, old.created_at, deps.clock.now(),
            old.symbols if symbols is None else symbols,
        )  # fmt: skip
        store.save(db, new, is_new=False)
    return ORJSONResponse(watchlist_json(new, deps.symbols))


def _change_symbol(
    caller_id: str, deps: Any, id: str | None, name: str | None, symbol: str, add: bool
) -> ORJSONResponse:
    wanted = checked(deps.symbols, [symbol])[0] if add else canonical_symbol(symbol)
    with deps.write() as db:
        old = located(db, caller_id, id, name)
        if not add and wanted not in old.symbols:
            raise ApiError(404, f"{wanted} is not in the watchlist", code=40410000)
        symbols = (
            tuple(dict.fromkeys((*old.symbols, wanted)))
            if add
            else tuple(s for s in old.symbols if s != wanted)
        )
        new = store.Watchlist(
            old.id, caller_id, old.name, old.created_at, deps.clock.now(), symbols
        )
        store.save(db, new, is_new=False)
    return ORJSONResponse(watchlist_json(new, deps.symbols))


def _delete(caller_id: str, deps: Any, id: str | None, name: str | None) -> Response:
    with deps.write() as db:
        store.delete(db, located(db, caller_id, id, name).id)
    return Response(status_code=204)


@router.get("/watchlists:by_name", summary="Get a watchlist by name")
def get_by_name(name: Name, caller: CurrentCaller, deps: Deps) -> ORJSONResponse:
    """The caller's watchlist of this name, with its assets."""
    return _get(caller.user_id, deps, None, name)


@router.put("/watchlists:by_name", summary="Update a watchlist by name")
def update_by_name(
    name: Name, body: WatchlistIn, caller: TradingCaller, deps: Deps
) -> ORJSONResponse:
    """Rename it and/or replace its symbols."""
    return _update(caller.user_id, deps, None, name, body)


@router.post("/watchlists:by_name", summary="Add a symbol to a watchlist by name")
def add_by_name(name: Name, body: SymbolIn, caller: TradingCaller, deps: Deps) -> ORJSONResponse:
    """Append a symbol (a symbol already there stays where it is)."""
    return _change_symbol(caller.user_id, deps, None, name, body.symbol, add=True)


@router.delete("/watchlists:by_name/{symbol}", summary="Remove a symbol from a watchlist by name")
def remove_by_name(name: Name, symbol: str, caller: TradingCaller, deps: Deps) -> ORJSONResponse:
    """Remove a symbol; 404 when it is not there."""
    return _change_symbol(caller.user_id, deps, None, name, symbol, add=False)


@router.delete("/watchlists:by_name", status_code=204, summary="Delete a watchlist by name")
def delete_by_name(name: Name, caller: TradingCaller, deps: Deps) -> Response:
    """Delete the watchlist (204)."""
    return _delete(caller.user_id, deps, None, name)


@router.get("/watchlists/{watchlist_id}", summary="Get a watchlist")
def get_watchlist(watchlist_id: str, caller: CurrentCaller, deps: Deps) -> ORJSONResponse:
    """One of the caller's watchlists with its assets (another user's is a 404)."""
    return _get(caller.user_id, deps, watchlist_id, None)


@router.put("/watchlists/{watchlist_id}", summary="Update a watchlist")
def update_watchlist(
    watchlist_id: str, body: WatchlistIn, caller: TradingCaller, deps: Deps
) -> ORJSONResponse:
    """Rename it and/or replace its symbols."""
    return _update(caller.user_id, deps, watchlist_id, None, body)


@router.post("/watchlists/{watchlist_id}", summary="Add a symbol to a watchlist")
def add_symbol(
    watchlist_id: str, body: SymbolIn, caller: TradingCaller, deps: Deps
) -> ORJSONResponse:
    """Append a symbol (a symbol already there stays where it is)."""
    return _change_symbol(caller.user_id, deps, watchlist_id, None, body.symbol, add=True)


@router.delete("/watchlists/{watchlist_id}/{symbol}", summary="Remove a symbol from a watchlist")
def remove_symbol(
    watchlist_id: str, symbol: str, caller: TradingCaller, deps: Deps
) -> ORJSONResponse:
    """Remove a symbol; 404 when it is not there."""
    return _change_symbol(caller.user_id, deps, watchlist_id, None, symbol, add=False)


@router.delete("/watchlists/{watchlist_id}", status_code=204, summary="Delete a watchlist")
def delete_watchlist(watchlist_id: str, caller: TradingCaller, deps: Deps) -> Response:
    """Delete the watchlist (204)."""
    return _delete(caller.user_id, deps, watchlist_id, None)
