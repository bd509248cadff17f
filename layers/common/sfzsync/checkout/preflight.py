"""Everything a client can get wrong in a checkout that only Zuora knows, found by reads before the first write.

The catalog (rate plans, currencies, per-unit charges), the billing account the request names and the payment
method it gives: one 422 names every problem, and nothing is locked, looked up or written for a request that has one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfzsync.checkout.catalog import PlannedRatePlan, ProductCatalog, plan_subscriptions
from sfzsync.checkout.models import Order
from sfzsync.errors import FieldProblem, InvalidInputError
from sfzsync.gateways.zuora import ZuoraAccount, ZuoraGateway


@dataclass(frozen=True)
class CheckedOrder:
    subscriptions: list[list[PlannedRatePlan]]
    billing_account: ZuoraAccount | None  # the account the request names; None: a new one


def check_order(order: Order, catalog: ProductCatalog, zuora: ZuoraGateway, *, resuming: bool = False) -> CheckedOrder:
    """The order as Zuora will take it; raises InvalidInputError naming every problem.

    `resuming`: an earlier attempt of this very body passed these checks and may have placed the order, which
    attaches the payment method to the new account: the payment method is not checked again.
    """
    problems: list[FieldProblem] = []
    subscriptions: list[list[PlannedRatePlan]] = []
    try:
        subscriptions = plan_subscriptions(order, catalog)
    except InvalidInputError as error:
        problems.extend(error.problems)
    account, account_problems = _named_billing_account(order, zuora)
    problems.extend(account_problems)
    if not resuming:
        problems.extend(_payment_problems(order, account, zuora))
    if problems:
        raise InvalidInputError.of(problems)
    return CheckedOrder(subscriptions, account)


def _named_billing_account(order: Order, zuora: ZuoraGateway) -> tuple[ZuoraAccount | None, list[FieldProblem]]:
    if order.zuoraAccountNumber is None:
        return None, []
    account = zuora.get_account(order.zuoraAccountNumber)
    if account is None:
        return None, [FieldProblem("order.zuoraAccountNumber", "is not a Zuora billing account")]
    if account.status.lower() == "canceled":
        return None, [FieldProblem("order.zuoraAccountNumber", "is a canceled Zuora billing account")]
    if account.currency and account.currency != order.currency:
        return None, [FieldProblem("order.currency", f"the billing account bills in {account.currency}")]
    return account, []


def _payment_problems(order: Order, account: ZuoraAccount | None, zuora: ZuoraGateway) -> list[FieldProblem]:
    """What Zuora would refuse about paying for this order (its Create Order rules), before anything is created."""
    processing = order.processingOptions
    problems = []
    if processing.collectPayment and not processing.runBilling:
        problems.append(
            FieldProblem("order.processingOptions.collectPayment", "needs runBilling: payment is collected on the bill")
        )
    if order.paymentMethodId is None:
        if order.zuoraAccountNumber is None:
            if order.autoPay:
                problems.append(FieldProblem("order.autoPay", "needs paymentMethodId: Zuora's Auto-Pay needs one"))
            if processing.collectPayment:
                problems.append(
                    FieldProblem("order.paymentMethodId", "is needed to collect payment on a new billing account")
                )
        elif account is not None and processing.collectPayment and account.default_payment_method_id is None:
            problems.append(
                FieldProblem(
                    "order.paymentMethodId",
                    "is needed to collect payment: the billing account has no payment method on file",
                )
            )
        return problems
    method = zuora.get_payment_method(order.paymentMethodId)
    if method is None:
        problems.append(FieldProblem("order.paymentMethodId", "is not a Zuora payment method"))
    elif method.account_id is not None and (account is None or method.account_id != account.account_id):
        # Paying a new billing account with a card another account holds would charge that account's card.
        problems.append(FieldProblem("order.paymentMethodId", "belongs to another Zuora billing account"))
    elif method.status and method.status.lower() != "active":
        problems.append(FieldProblem("order.paymentMethodId", f"is {method.status}, not Active"))
    return problems
