from decimal import Decimal as D  # noqa: N817

from portfolio.domain.book import PortfolioBook
from portfolio.domain.ledger import Holding
from portfolio.domain.risk import Crossing, Direction, RiskRule, RuleAction, RuleKind


def book_with(
    rule: RiskRule, *, cash: str = "0", qty: str = "100", cost: str = "10000"
) -> PortfolioBook:
    book = PortfolioBook()
    book.load_account(
        "a1",
        cash=D(cash),
        holdings=[Holding("X", D(qty), D(cost)), Holding("Y", D("10"), D("1000"))],
        last_equity=D("11000"),
        peak_equity=D("11000"),
        open_orders=0,
    )
    book.set_rules([rule])
    return book


def tick(book: PortfolioBook, symbol: str, price: str) -> list[Crossing]:
    moved = book.on_price(symbol, D(price))
    found = book.evaluate(moved, [symbol])
    for crossing in found:  # what the live shell does once the crossing is stored
        crossing.rule.breached = crossing.raised
    return [c for c in found if c.raised]


def rule(kind: RuleKind, threshold: str, **extra: object) -> RiskRule:
    return RiskRule("r1", "a1", kind, D(threshold), RuleAction.ALERT, **extra)  # type: ignore[arg-type]


def test_a_tick_revalues_only_the_holders_of_its_symbol() -> None:
    book = book_with(rule(RuleKind.DAILY_LOSS, "1000000"))
    book.load_account(
        "a2", cash=D("5"), holdings=[], last_equity=D("5"), peak_equity=D("5"), open_orders=0
    )
    assert book.on_price("X", D("101")) == ["a1"]
    assert book.accounts["a1"].equity == D("11100")
    assert book.accounts["a2"].equity == D("5")


def test_drawdown_rule_fires_once_while_breached_and_rearms_after_recovery() -> None:
    book = book_with(rule(RuleKind.MAX_DRAWDOWN, "10"))
    assert tick(book, "X", "95") == []  # 500 below an 11000 peak: 4.5 %
    assert len(tick(book, "X", "89")) == 1  # 1100 below: 10 %
    assert tick(book, "X", "80") == []  # still breached: no repeat
    assert tick(book, "X", "100") == []  # recovered: re-armed silently
    assert len(tick(book, "X", "88")) == 1


def test_daily_loss_rule_measures_from_the_previous_close() -> None:
    book = book_with(rule(RuleKind.DAILY_LOSS, "500"))
    assert tick(book, "X", "95.01") == []
    assert len(tick(book, "X", "95")) == 1
    book.roll_day()
    assert tick(book, "X", "94") == []


def test_position_weight_rule_compares_the_largest_position_with_equity() -> None:
    book = book_with(rule(RuleKind.MAX_POSITION_WEIGHT, "95"), cash="0")
    fired = tick(book, "Y", "1")  # X 10000 of 10010
    assert len(fired) == 1
    assert "X is 99.90%" in fired[0].reading.message


def test_price_alert_fires_when_the_price_crosses_its_level_in_its_direction() -> None:
    book = book_with(rule(RuleKind.PRICE_ALERT, "120", symbol="Z", direction=Direction.ABOVE))
    assert tick(book, "Z", "119.99") == []
    assert len(tick(book, "Z", "120")) == 1
    assert tick(book, "Z", "125") == []
    assert tick(book, "Z", "110") == []
    assert len(tick(book, "Z", "121")) == 1


def test_a_cross_alert_fires_on_every_crossing_up_or_down_and_never_while_on_one_side() -> None:
    crossing_rule = rule(RuleKind.PRICE_ALERT, "100", symbol="Z", direction=Direction.CROSS)
    book = book_with(crossing_rule)  # starts below (breached False), as the API sets it

    def alerts(price: str) -> list[str]:
        book.on_price("Z", D(price))
        found = book.evaluate([], ["Z"])
        for crossing in found:
            crossing.rule.breached = crossing.raised
        return [c.reading.message for c in found if c.alerts]

    assert alerts("99") == []
    assert alerts("100") == ["Z at 100 crossed up through 100"]
    assert alerts("105") == []
    assert alerts("99.99") == ["Z at 99.99 crossed down through 100"]
    assert alerts("98") == []
    assert alerts("101") == ["Z at 101 crossed up through 100"]


def test_open_orders_rule_fires_above_the_maximum() -> None:
    book = book_with(rule(RuleKind.MAX_OPEN_ORDERS, "2"))
    book.accounts["a1"].open_orders = 3
    assert len(book.evaluate(["a1"])) == 1


def test_a_halt_rule_halts_only_on_its_first_crossing() -> None:
    halting = RiskRule("r1", "a1", RuleKind.MAX_DRAWDOWN, D("5"), RuleAction.HALT)
    book = book_with(halting)
    [found] = book.evaluate(book.on_price("X", D("50")), ["X"])
    assert found.halts
    halting.halted = True
    halting.breached = False
    [again] = book.evaluate(["a1"])
    assert not again.halts
