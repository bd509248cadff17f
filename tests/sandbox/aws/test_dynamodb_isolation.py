"""The sandbox's DynamoDB keeps the service's isolation: a cancelled transaction never undoes the writes other
requests made meanwhile ("TransactWriteItems ... are isolated from other transactions", DynamoDB Developer Guide,
"Isolation levels for DynamoDB transactions")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.exceptions import ClientError

from sandbox.stack import TABLE_NAME, Sandbox


def test_writes_made_while_transactions_are_cancelled_all_stay(clean_sandbox: Sandbox) -> None:
    # Given a table, and transactions that will be cancelled (their condition fails) running among plain writes
    with clean_sandbox.aws_environment():
        client = boto3.client("dynamodb")
        for i in range(0, 400, 25):  # a table of some size: moto copies it whole for each transaction
            client.batch_write_item(
                RequestItems={
                    TABLE_NAME: [{"PutRequest": {"Item": {"id": {"S": f"filler#{j}"}}}} for j in range(i, i + 25)]
                }
            )

        def cancelled_transaction(i: int) -> None:
            try:
                client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": TABLE_NAME, "Item": {"id": {"S": f"isolation#tx{i}"}}}},
                        {
                            "ConditionCheck": {
                                "TableName": TABLE_NAME,
                                "Key": {"id": {"S": "isolation#gate"}},
                                "ConditionExpression": "attribute_exists(id)",
                            }
                        },
                    ]
                )
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "TransactionCanceledException"

        def plain_write(i: int) -> None:
            client.put_item(TableName=TABLE_NAME, Item={"id": {"S": f"isolation#put{i}"}})

        # When both run at once, many times
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda i: cancelled_transaction(i) if i % 2 else plain_write(i), range(300)))

        # Then every plain write is there, and nothing of the cancelled transactions
        items = client.scan(TableName=TABLE_NAME)["Items"]
    ids = {item["id"]["S"] for item in items if item["id"]["S"].startswith("isolation#")}
    assert ids == {f"isolation#put{i}" for i in range(0, 300, 2)}
