"""/v2/account/configurations: the caller's account settings that orders are admitted under."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from shared.errors import ORJSONResponse
from shared.identity import CurrentCaller, TradingCaller

from trading.adapters import account_rules
from trading.api.orders import Deps
from trading.domain.admission import (
    AccountConfiguration,
    DtbpCheck,
    PdtCheck,
    TradeConfirmEmail,
)

router = APIRouter(prefix="/v2/account", tags=["account configurations"])


class ConfigurationPatch(BaseModel):
    """PATCH body: any subset of the fields."""

    model_config = ConfigDict(extra="forbid")

    dtbp_check: DtbpCheck | None = None
    trade_confirm_email: TradeConfirmEmail | None = None
    suspend_trade: bool | None = None
    no_shorting: bool | None = None
    fractional_trading: bool | None = None
    max_margin_multiplier: str | None = Field(default=None, pattern="^[1-4]$")
    pdt_check: PdtCheck | None = None
    ptp_no_exception_entry: bool | None = None
    max_options_trading_level: int | None = Field(default=None, ge=0, le=3)


def configuration_json(config: AccountConfiguration) -> dict[str, Any]:
    return dataclasses.asdict(config)


@router.get("/configurations", summary="Get account configurations")
def get_configurations(caller: CurrentCaller, deps: Deps) -> ORJSONResponse:
    """The caller's account configuration (Alpaca's defaults until changed)."""
    with deps.engine.connect() as db:
        config = account_rules.load_configuration(db, caller.user_id)
        db.rollback()
    return ORJSONResponse(configuration_json(config))


@router.patch("/configurations", summary="Update account configurations")
def patch_configurations(
    body: ConfigurationPatch, caller: TradingCaller, deps: Deps
) -> ORJSONResponse:
    """Change some settings; suspend_trade and no_shorting take effect on the next order."""
    changes = body.model_dump(exclude_none=True)
    with deps.write() as db:
        config = dataclasses.replace(
            account_rules.load_configuration(db, caller.user_id), **changes
        )
        account_rules.save_configuration(db, caller.user_id, config)
    return ORJSONResponse(configuration_json(config))
