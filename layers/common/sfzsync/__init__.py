"""Salesforce ⇄ Zuora self-service order sync: the domain package shipped in the Lambda layer."""
