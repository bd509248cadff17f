"""The pages: record data is escaped."""

from __future__ import annotations

from dataclasses import replace

from sfzsync.send_to_zuora.plans import PushOutcome
from sfzsync.send_to_zuora.views import render_account_preview, render_result
from tests.unit.send_to_zuora.fakes import ACCOUNT, flow, session


def test_record_data_is_escaped_in_pages() -> None:
    account = replace(ACCOUNT, name="<script>alert(1)</script>")
    html = render_account_preview(flow().plan_account(account), {"csrf": '"><script>x</script>'}, session())
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '"><script>x' not in html
    result = render_result("<b>x</b>", PushOutcome("A<1>", "created"))
    assert "<b>x</b>" not in result and "A&lt;1&gt;" in result
