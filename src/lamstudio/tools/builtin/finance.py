"""Finance formulas: loans, interest, discounted cash flows, returns, pricing.

Rates are decimals (0.05 means 5 %) unless a parameter name says ``percent``.
"""

from __future__ import annotations

from lamstudio.tools._decorator import tool
from lamstudio.tools.builtin._common import finite, numbers, positive, rounded

CATEGORY = "finance"


def _rate(value: float, name: str) -> float:
    value = finite(value, name)
    # Above 100 % is almost always a percent passed as a decimal ("5" for 5 %).
    if not -1 < value <= 1:
        raise ValueError(f"{name} is a decimal rate (0.05 = 5 %) between -1 and 1, "
                         f"got {value:g}")
    return value


def _payment(principal: float, period_rate: float, periods: int) -> float:
    if period_rate == 0:
        return principal / periods
    return principal * period_rate / (1 - (1 + period_rate) ** -periods)


def _periods(years: float, per_year: int) -> int:
    if not 1 <= per_year <= 365:
        raise ValueError(f"payments per year must be between 1 and 365, got {per_year}")
    periods = round(positive(years, "years") * per_year)
    if not 1 <= periods <= 12_000:
        raise ValueError("the loan must have between 1 and 12000 payments")
    return periods


@tool
def loan_payment(principal: float, annual_rate: float, years: float,
                 payments_per_year: int = 12) -> dict:
    """Fixed payment of an amortising loan (annuity formula), with total paid and interest.

    Args:
        principal: Amount borrowed, e.g. 250000.
        annual_rate: Nominal annual interest rate as a decimal, e.g. 0.045.
        years: Term in years, e.g. 30.
        payments_per_year: Payments per year (12 = monthly).
    """
    principal, rate = positive(principal, "principal"), _rate(annual_rate, "annual_rate")
    n = _periods(years, payments_per_year)
    pay = _payment(principal, rate / payments_per_year, n)
    return {"payment": round(pay, 2), "number_of_payments": n,
            "total_paid": round(pay * n, 2), "total_interest": round(pay * n - principal, 2)}


@tool
def amortization_schedule(principal: float, annual_rate: float, years: float,
                          payments_per_year: int = 12, max_rows: int = 12) -> dict:
    """Payment-by-payment split of an amortising loan into interest and principal.

    Args:
        principal: Amount borrowed.
        annual_rate: Nominal annual interest rate as a decimal.
        years: Term in years.
        payments_per_year: Payments per year (12 = monthly).
        max_rows: How many of the first payments to list (1 to 600).
    """
    if not 1 <= max_rows <= 600:
        raise ValueError(f"max_rows must be between 1 and 600, got {max_rows}")
    principal, rate = positive(principal, "principal"), _rate(annual_rate, "annual_rate")
    n = _periods(years, payments_per_year)
    r = rate / payments_per_year
    pay, balance, rows = _payment(principal, r, n), principal, []
    for k in range(1, min(n, max_rows) + 1):
        interest = balance * r
        balance -= pay - interest
        rows.append({"payment_number": k, "payment": round(pay, 2),
                     "interest": round(interest, 2), "principal": round(pay - interest, 2),
                     "balance": round(max(balance, 0.0), 2)})
    return {"number_of_payments": n, "rows": rows}


@tool
def compound_interest(principal: float, annual_rate: float, years: float,
                      compounds_per_year: int = 12, monthly_contribution: float = 0.0) -> dict:
    """Future value of a deposit with compound interest and optional monthly contributions
    (contributions are added at the end of each month and compound monthly).

    Args:
        principal: Initial deposit.
        annual_rate: Nominal annual rate as a decimal, e.g. 0.05.
        years: Investment horizon in years.
        compounds_per_year: Compounding periods per year (1, 4, 12, 365, ...).
        monthly_contribution: Amount added every month.
    """
    principal = positive(principal, "principal", allow_zero=True)
    rate, years = _rate(annual_rate, "annual_rate"), positive(years, "years")
    contribution = positive(monthly_contribution, "monthly_contribution", allow_zero=True)
    if not 1 <= compounds_per_year <= 365:
        raise ValueError("compounds_per_year must be between 1 and 365")
    if years > 200:
        raise ValueError("years must be at most 200")
    value = principal * (1 + rate / compounds_per_year) ** (compounds_per_year * years)
    months, r = round(years * 12), rate / 12
    value += contribution * months if r == 0 else contribution * ((1 + r) ** months - 1) / r
    deposited = principal + contribution * months
    return {"future_value": round(value, 2), "total_deposited": round(deposited, 2),
            "interest_earned": round(value - deposited, 2)}


@tool
def simple_interest(principal: float, annual_rate: float, years: float) -> dict:
    """Simple (non-compounding) interest on a principal.

    Args:
        principal: The amount.
        annual_rate: Annual rate as a decimal.
        years: Time in years.
    """
    principal, rate = positive(principal, "principal"), _rate(annual_rate, "annual_rate")
    interest = principal * rate * positive(years, "years")
    return {"interest": round(interest, 2), "total": round(principal + interest, 2)}


@tool
def net_present_value(rate: float, cash_flows: list[float]) -> dict:
    """Net present value of cash flows; the first flow is at time 0 (not discounted).

    Args:
        rate: Discount rate per period as a decimal, e.g. 0.08.
        cash_flows: Flows per period, e.g. [-1000, 300, 400, 500].
    """
    rate, flows = _rate(rate, "rate"), numbers(cash_flows, "cash_flows")
    return {"npv": round(sum(f / (1 + rate) ** t for t, f in enumerate(flows)), 2)}


@tool
def internal_rate_of_return(cash_flows: list[float]) -> dict:
    """Internal rate of return: the per-period rate at which the NPV of the flows is zero.

    Args:
        cash_flows: Flows per period starting at time 0; needs a sign change,
            e.g. [-1000, 300, 400, 500].
    """
    flows = numbers(cash_flows, "cash_flows", 2)
    if not (any(f < 0 for f in flows) and any(f > 0 for f in flows)):
        raise ValueError("cash_flows need at least one negative and one positive flow")

    def npv(r: float) -> float:
        return sum(f / (1 + r) ** t for t, f in enumerate(flows))

    low, high = -0.9999, 10.0
    if npv(low) * npv(high) > 0:
        raise ValueError("no internal rate of return between -99.99 % and 1000 %")
    for _ in range(200):  # bisection: slow but always converges on a bracket
        mid = (low + high) / 2
        if npv(low) * npv(mid) <= 0:
            high = mid
        else:
            low = mid
    return {"irr": rounded((low + high) / 2, 6)}


@tool
def future_value_of_annuity(payment: float, rate: float, periods: int,
                            due: bool = False) -> dict:
    """Future value of a series of equal payments.

    Args:
        payment: Amount paid each period.
        rate: Interest rate per period as a decimal.
        periods: Number of payments (1 to 12000).
        due: Payments at the start of each period (annuity due) instead of the end.
    """
    payment, rate = positive(payment, "payment"), _rate(rate, "rate")
    if not 1 <= periods <= 12_000:
        raise ValueError("periods must be between 1 and 12000")
    value = payment * periods if rate == 0 else payment * ((1 + rate) ** periods - 1) / rate
    return {"future_value": round(value * (1 + rate) if due else value, 2)}


@tool
def return_on_investment(initial_value: float, final_value: float,
                         years: float | None = None) -> dict:
    """Return on investment, and the annualised return (CAGR) when the period is given.

    Args:
        initial_value: Amount invested (positive).
        final_value: Value at the end.
        years: Holding period in years, for the annualised figure.
    """
    start = positive(initial_value, "initial_value")
    end = positive(final_value, "final_value", allow_zero=True)
    out = {"roi_percent": rounded(100 * (end - start) / start, 4)}
    if years is not None:
        out["annualized_percent"] = rounded(
            100 * ((end / start) ** (1 / positive(years, "years")) - 1), 4)
    return out


@tool
def break_even_point(fixed_costs: float, price_per_unit: float,
                     variable_cost_per_unit: float) -> dict:
    """Units (and revenue) needed to cover fixed costs.

    Args:
        fixed_costs: Total fixed costs.
        price_per_unit: Selling price per unit.
        variable_cost_per_unit: Variable cost per unit (below the price).
    """
    fixed = positive(fixed_costs, "fixed_costs", allow_zero=True)
    price = positive(price_per_unit, "price_per_unit")
    variable = positive(variable_cost_per_unit, "variable_cost_per_unit", allow_zero=True)
    if variable >= price:
        raise ValueError("price_per_unit must exceed variable_cost_per_unit")
    units = fixed / (price - variable)
    return {"break_even_units": rounded(units, 2), "break_even_revenue": round(units * price, 2)}


@tool
def calculate_tip(bill_amount: float, tip_percent: float = 15.0, people: int = 1) -> dict:
    """Tip and total for a bill, optionally split between people.

    Args:
        bill_amount: The bill before tip.
        tip_percent: Tip in percent, e.g. 18.
        people: Number of people sharing (at least 1).
    """
    bill = positive(bill_amount, "bill_amount", allow_zero=True)
    tip_rate = positive(tip_percent, "tip_percent", allow_zero=True)
    if people < 1:
        raise ValueError("people must be at least 1")
    tip = bill * tip_rate / 100
    return {"tip": round(tip, 2), "total": round(bill + tip, 2),
            "per_person": round((bill + tip) / people, 2)}


@tool
def apply_discount(price: float, discount_percent: float, tax_percent: float = 0.0) -> dict:
    """Price after a percentage discount, then optional sales tax.

    Args:
        price: Original price.
        discount_percent: Discount in percent (0 to 100).
        tax_percent: Sales tax in percent applied after the discount.
    """
    price = positive(price, "price", allow_zero=True)
    discount = positive(discount_percent, "discount_percent", allow_zero=True)
    if discount > 100:
        raise ValueError("discount_percent must be at most 100")
    tax = positive(tax_percent, "tax_percent", allow_zero=True)
    discounted = price * (1 - discount / 100)
    return {"discounted_price": round(discounted, 2), "savings": round(price - discounted, 2),
            "final_price": round(discounted * (1 + tax / 100), 2)}
