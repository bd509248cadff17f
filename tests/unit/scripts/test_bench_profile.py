"""The profile page's split of a warm request's CPU time (scripts/bench_profile.py): DynamoDB calls, Salesforce and
Zuora calls, and the rest, found in a cProfile of real botocore and requests calls with no server behind them."""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.stub import Stubber
from requests.adapters import BaseAdapter

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))

from bench_profile import cpu_split, top_functions


class CannedAdapter(BaseAdapter):
    """Answers every request with 200 `{}` without a socket."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code, response._content, response.request = 200, b"{}", request
        return response

    def close(self) -> None:
        pass


def profile_of_a_request() -> pstats.Stats:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    session = requests.Session()
    session.mount("https://", CannedAdapter())
    profiler = cProfile.Profile(time.process_time)
    with Stubber(client) as stub:
        for _ in range(20):
            stub.add_response("get_item", {"Item": {"id": {"S": "k"}}}, {"TableName": "t", "Key": {"id": {"S": "k"}}})
        profiler.enable()
        for _ in range(20):
            client.get_item(TableName="t", Key={"id": {"S": "k"}})
            session.request("GET", "https://example.test/services/data")
            sorted(str(n) for n in range(2000))  # the handler's own work
        profiler.disable()
    return pstats.Stats(profiler)


def test_the_split_finds_the_dynamodb_and_http_calls_and_adds_up() -> None:
    # Given a CPU profile of DynamoDB calls, HTTP calls and other work
    stats = profile_of_a_request()
    # When it is split
    split = dict(cpu_split(stats))
    # Then each part has a share, and the shares add up to the whole
    dynamodb, http, rest = split.values()
    assert dynamodb > 0.05 and http > 0.01 and rest > 0.05
    assert abs(sum(split.values()) - 1) < 1e-9


def test_the_top_functions_are_named_without_the_install_paths() -> None:
    # Given a CPU profile
    stats = profile_of_a_request()
    # When its top functions are listed
    names = [name for name, _, _ in top_functions(stats)]
    # Then none shows a site-packages or interpreter path
    assert names and not any("site-packages" in n or "/lib/python3." in n for n in names)
