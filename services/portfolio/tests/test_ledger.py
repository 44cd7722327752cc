from decimal import Decimal as D  # noqa: N817

import pytest
from portfolio.domain.ledger import Fill, Holding, InvalidFill, apply_fill
from portfolio.domain.valuation import Quote, value_account, value_position


def run(holding: Holding, *fills: Fill) -> tuple[Holding, list[D | None], D]:
    realized: list[D | None] = []
    cash = D(0)
    for fill in fills:
        outcome = apply_fill(holding, fill)
        holding = outcome.holding
        realized.append(outcome.realized_pl)
        cash += outcome.cash_delta
    return holding, realized, cash


def test_buys_partial_sells_adds_and_a_full_close_match_hand_computed_average_cost() -> None:
    start = Holding("AAPL")
    steps = [
        Fill("AAPL", "buy", D("10"), D("100"), D("1")),  # basis 1001
        Fill("AAPL", "sell", D("4"), D("110"), D("0.5")),  # releases 400.4, realizes 39.1
        Fill("AAPL", "buy", D("4"), D("95"), D("0.4")),  # basis 600.6 + 380.4 = 981
        Fill("AAPL", "sell", D("3"), D("90"), D("0.3")),  # releases 294.3, realizes -24.6
        Fill("AAPL", "sell", D("7"), D("92"), D("0.7")),  # releases 686.7, realizes -43.4
    ]
    after_two, _realized_two, _ = run(start, *steps[:2])
    assert (after_two.qty, after_two.cost_basis) == (D("6"), D("600.6"))
    after_three, _, _ = run(after_two, steps[2])
    assert (after_three.qty, after_three.cost_basis) == (D("10"), D("981.0"))
    assert after_three.avg_entry_price == D("98.1")
    final, realized, cash = run(start, *steps)
    assert final.is_flat
    assert final.cost_basis == 0
    assert realized == [None, D("39.1"), None, D("-24.6"), D("-43.4")]
    assert cash == D("-28.9")
    assert sum(r for r in realized if r is not None) == cash


def test_unrealized_pl_marks_the_remaining_shares_against_their_cost_basis() -> None:
    holding, _, _ = run(
        Holding("AAPL"),
        Fill("AAPL", "buy", D("10"), D("100"), D("1")),
        Fill("AAPL", "sell", D("4"), D("110"), D("0.5")),
    )
    marked = value_position(holding, Quote(D("105"), D("102")))
    assert marked.market_value == D("630")
    assert marked.unrealized_pl == D("29.4")
    assert marked.unrealized_intraday_pl == D("18")
    assert marked.change_today == D("105") / D("102") - 1
    assert value_account(D("1000"), [marked]).equity == D("1630")


def test_a_cost_basis_that_does_not_divide_evenly_leaks_nothing_by_the_full_close() -> None:
    final, realized, cash = run(
        Holding("X"),
        Fill("X", "buy", D("3"), D("10"), D("1")),
        Fill("X", "sell", D("1"), D("12")),
        Fill("X", "sell", D("2"), D("12")),
    )
    assert realized == [None, D("1.66666667"), D("3.33333333")]
    assert final.is_flat
    assert sum(r for r in realized if r is not None) == cash == D("5")


def test_a_short_is_opened_by_a_sell_and_covered_by_a_buy_with_fees() -> None:
    final, realized, cash = run(
        Holding("X"),
        Fill("X", "sell", D("10"), D("50"), D("1")),
        Fill("X", "buy", D("10"), D("40"), D("1")),
    )
    assert final.is_flat
    assert realized == [None, D("98")]
    assert cash == D("98")


def test_a_fill_through_zero_closes_the_long_and_opens_a_short_at_the_fill_price() -> None:
    final, realized, _ = run(
        Holding("X"),
        Fill("X", "buy", D("5"), D("10")),
        Fill("X", "sell", D("8"), D("12"), D("0.8")),
    )
    assert realized == [None, D("9.5")]  # 5 * (12 - 10) - 0.5 of the fee
    assert (final.qty, final.cost_basis) == (D("-3"), D("-35.7"))  # -36 + 0.3 fee


def test_a_fill_with_a_non_positive_quantity_is_refused() -> None:
    with pytest.raises(InvalidFill):
        Fill("X", "buy", D("0"), D("10"))
