"""What clients receive: stream events turned into /ws messages and Alpaca trade_updates."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

ORDER_EVENTS = {
    "OrderAccepted": "new",
    "OrderFilled": "fill",
    "OrderCanceled": "canceled",
    "OrderExpired": "expired",
    "OrderReplaced": "replaced",
    "OrderRejected": "rejected",
}
ORDER_STATUS_AFTER = {
    "accepted": "accepted",
    "new": "new",
    "fill": "filled",
    "partial_fill": "partially_filled",
    "canceled": "canceled",
    "expired": "expired",
    "replaced": "replaced",
    "rejected": "rejected",
}


def trade_message(seq: int, event: dict[str, Any]) -> dict[str, Any]:
    payload = event["payload"]
    return {
        "type": "trade",
        "seq": seq,
        "symbol": payload["symbol"],
        "price": payload["price"],
        "size": payload.get("size", "0"),
        "ts": event["ts_event"],
    }


def order_message(seq: int, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "order",
        "seq": seq,
        "event": event["type"],
        "order": event["payload"],
        "ts": event["ts_event"],
    }


def alert_message(seq: int, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "alert",
        "seq": seq,
        "event": event["type"],
        "alert": event["payload"],
        "ts": event["ts_event"],
    }


def _is_zero(value: object) -> bool:
    try:
        return Decimal(str(value)) == 0
    except (InvalidOperation, ValueError):
        return False


def alpaca_event_name(event: dict[str, Any]) -> str | None:
    name = ORDER_EVENTS.get(event["type"])
    if name == "new" and event["payload"].get("status") == "accepted":
        return "accepted"  # placed while its market is closed: ``new`` follows at the open
    if name == "fill" and not _is_zero(event["payload"].get("leaves_qty", "0")):
        return "partial_fill"
    return name


def alpaca_trade_update(seq: int, event: dict[str, Any]) -> dict[str, Any] | None:
    """Alpaca's ``trade_updates`` message for an order event, or None when Alpaca has none."""
    name = alpaca_event_name(event)
    if name is None:
        return None
    payload, ts = event["payload"], event["ts_event"]
    data: dict[str, Any] = {"event": name, "timestamp": ts}
    if isinstance(payload.get("order"), dict):
        data["order"] = payload["order"]  # the REST order of this moment (trading.order_json)
        if name in ("fill", "partial_fill"):
            data.update(
                execution_id=payload.get("fill_id"),
                price=payload.get("fill_price"),
                qty=payload.get("fill_qty"),
                position_qty=payload.get("position_qty"),
            )
        return {"stream": "trade_updates", "seq": seq, "data": data}
    return {"stream": "trade_updates", "seq": seq, "data": legacy_order_update(name, event)}


def legacy_order_update(name: str, event: dict[str, Any]) -> dict[str, Any]:
    """An update rebuilt from an event written before order events carried the order."""
    payload, ts = event["payload"], event["ts_event"]
    order: dict[str, Any] = {
        "id": payload["order_id"],
        "client_order_id": payload["client_order_id"],
        "created_at": ts,
        "updated_at": ts,
        "submitted_at": ts,
        "symbol": payload["symbol"],
        "asset_class": "us_equity",
        "side": payload["side"],
        "type": payload.get("order_type", "market"),
        "order_type": payload.get("order_type", "market"),
        "order_class": "simple",
        "time_in_force": payload.get("time_in_force", "day"),
        "status": payload.get("status") or ORDER_STATUS_AFTER[name],
        "extended_hours": False,
        "qty": payload.get("qty"),
        "notional": payload.get("notional"),
        "limit_price": payload.get("limit_price"),
        "stop_price": payload.get("stop_price"),
        "filled_qty": payload.get("cum_qty", "0"),
        "filled_avg_price": payload.get("fill_price"),
    }
    data: dict[str, Any] = {"event": name, "timestamp": ts, "order": order}
    if name in ("fill", "partial_fill"):
        order["filled_at"] = ts
        data.update(
            execution_id=payload.get("fill_id"),
            price=payload.get("fill_price"),
            qty=payload.get("fill_qty"),
        )
    if name == "canceled":
        order["canceled_at"] = ts
    if name == "expired":
        order["expired_at"] = ts
    if name == "replaced":
        order["replaced_at"], order["replaced_by"] = ts, payload.get("replaced_by")
    return data
