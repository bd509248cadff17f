"""Configuration: the environment and the one Secrets Manager secret, validated once per cold start."""

from __future__ import annotations

import os
import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, ValidationError, model_validator

from sfzsync.errors import ConfigurationError
from sfzsync.observability import logger

FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,79}$")]
MatchRule = Literal["contact_email", "person_account_email", "account_domain"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SalesforceSettings(_Section):
    loginUrl: Annotated[str, StringConstraints(pattern=r"^https?://[^/\s]+/?$")]
    authFlow: Literal["client_credentials", "jwt_bearer"] = "client_credentials"
    clientId: str
    clientSecret: SecretStr | None = None
    username: str | None = None
    privateKey: SecretStr | None = None
    jwtAudience: str = Field("https://login.salesforce.com", description="`aud` of the JWT bearer assertion.")
    emailInternationalization: bool = Field(
        False, description="The org has Email Address Internationalization on: non-ASCII local parts are accepted."
    )
    apiVersion: Annotated[str, StringConstraints(pattern=r"^\d{2,3}\.0$")] = "62.0"
    orgId: str | None = None
    allowedDomains: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _flow_has_its_credentials(self) -> SalesforceSettings:
        if self.authFlow == "client_credentials" and self.clientSecret is None:
            raise ValueError("authFlow client_credentials needs clientSecret")
        if self.authFlow == "jwt_bearer" and (self.username is None or self.privateKey is None):
            raise ValueError("authFlow jwt_bearer needs username and privateKey")
        return self

    @property
    def base_url(self) -> str:
        return self.loginUrl.rstrip("/")


class ZuoraSettings(_Section):
    baseUrl: Annotated[str, StringConstraints(pattern=r"^https?://[^/\s]+/?$")]
    clientId: str
    clientSecret: SecretStr
    zuoraVersion: str = "2025-08-12"

    @property
    def base_url(self) -> str:
        return self.baseUrl.rstrip("/")


SigningSecret = Annotated[SecretStr, Field(min_length=16)]


class CheckoutSettings(_Section):
    signingSecrets: Annotated[list[SigningSecret], Field(min_length=1, max_length=2)] = Field(
        description="The current secret first; during a rotation, the previous one second."
    )
    signatureToleranceSeconds: int = Field(300, ge=30, le=900)

    @model_validator(mode="before")
    @classmethod
    def _single_secret_of_earlier_releases(cls, data: object) -> object:
        """`signingSecret` (one secret), as earlier releases had it, still reads as a list of one."""
        if isinstance(data, dict) and "signingSecret" in data:
            if "signingSecrets" in data:
                raise ValueError("give signingSecrets only (signingSecret is its older, single-secret form)")
            data = {**data, "signingSecrets": [data["signingSecret"]]}
            del data["signingSecret"]
        return data


class OrderItemWriteBack(_Section):
    subscriptionNumber: FieldName = "Zuora_Subscription_Number__c"
    ratePlanId: FieldName = "Zuora_Rate_Plan_Id__c"
    chargeNumbers: FieldName = "Zuora_Charge_Numbers__c"


class OrderWriteBack(_Section):
    orderNumber: FieldName = "Zuora_Order_Number__c"
    subscriptionNumber: FieldName = "Zuora_Subscription_Number__c"
    syncStatus: FieldName = "Zuora_Sync_Status__c"
    syncError: FieldName = "Zuora_Sync_Error__c"
    lastSync: FieldName = "Zuora_Last_Sync__c"


class WriteBackFields(_Section):
    """Salesforce fields the integration user fills after each Order push (what Zuora made of each record)."""

    orderItem: OrderItemWriteBack = Field(default_factory=OrderItemWriteBack)
    order: OrderWriteBack = Field(default_factory=OrderWriteBack)


class ZuoraLinkFields(_Section):
    """Zuora custom fields carrying the Salesforce Ids, so the link survives a lost write-back."""

    subscription: FieldName = Field("SalesforceOrderId__c", description="Subscription field: the Order Id.")
    ratePlan: FieldName = Field("SalesforceOrderItemId__c", description="Rate plan field: the order product Id.")


class SendToZuoraSettings(_Section):
    sessionKey: SecretStr | None = Field(None, description="Seals the button's cookies; 32+ random characters.")
    productRatePlanField: FieldName = "Zuora_Product_Rate_Plan_Id__c"
    productRatePlanChargeField: FieldName | None = Field(
        "Zuora_Product_Rate_Plan_Charge_Id__c", description="Product2 field naming the per-unit charge for quantities."
    )
    defaultCurrency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    multiCurrency: bool = Field(False, description="Read CurrencyIsoCode (only in multi-currency orgs).")
    callbackUrl: Annotated[str, StringConstraints(pattern=r"^https://[^\s]+/sfdccpq/callback$")] | None = Field(
        None, description="The Connected App's callback URL; defaults to this API's own /sfdccpq/callback."
    )
    permission: (
        Annotated[str, StringConstraints(pattern=r"^(?:[A-Za-z][A-Za-z0-9]{0,14}__)?[A-Za-z]\w{0,79}$")] | None
    ) = Field(None, description="A Custom Permission (DeveloperName, `ns__Name` when packaged) a user needs to push.")
    writeBack: WriteBackFields = Field(default_factory=WriteBackFields)
    zuoraLinkFields: ZuoraLinkFields = Field(default_factory=ZuoraLinkFields)


class MatchingSettings(_Section):
    rules: Annotated[list[MatchRule], Field(min_length=1)] = ["contact_email", "account_domain"]
    domainField: FieldName | None = None


class SecretDocument(_Section):
    salesforce: SalesforceSettings
    zuora: ZuoraSettings
    checkout: CheckoutSettings
    sendToZuora: SendToZuoraSettings = Field(default_factory=SendToZuoraSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    accountDefaults: dict[FieldName, str | bool | int] = Field(default_factory=dict)


class RuntimeSettings(_Section):
    """Knobs from the environment (template.yaml sets them; the defaults suit production)."""

    secret_id: str
    idempotency_table: str
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    # DynamoDB answers in milliseconds: short timeouts, so three attempts fit well inside the invocation.
    dynamodb_connect_timeout: float = 1.0
    dynamodb_read_timeout: float = 2.0
    # Below this share of Salesforce's daily API allowance left, checkouts pause (503) for the cooldown.
    salesforce_api_floor_percent: float = Field(5.0, ge=0, le=100)
    salesforce_allowance_cooldown_seconds: float = Field(300.0, gt=0, le=3600)
    lock_wait_seconds: float = 4.0
    idempotency_expiry_seconds: int = 86_400


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    runtime: RuntimeSettings
    secret: SecretDocument


def runtime_settings_from_env(environ: dict[str, str] | None = None) -> RuntimeSettings:
    env = os.environ if environ is None else environ
    missing = [name for name in ("SECRET_ID", "IDEMPOTENCY_TABLE") if not env.get(name)]
    if missing:
        raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
    values: dict[str, object] = {"secret_id": env["SECRET_ID"], "idempotency_table": env["IDEMPOTENCY_TABLE"]}
    for field, name in (
        ("connect_timeout", "UPSTREAM_CONNECT_TIMEOUT_SECONDS"),
        ("read_timeout", "UPSTREAM_READ_TIMEOUT_SECONDS"),
        ("dynamodb_connect_timeout", "DYNAMODB_CONNECT_TIMEOUT_SECONDS"),
        ("dynamodb_read_timeout", "DYNAMODB_READ_TIMEOUT_SECONDS"),
        ("salesforce_api_floor_percent", "SALESFORCE_API_FLOOR_PERCENT"),
        ("salesforce_allowance_cooldown_seconds", "SALESFORCE_ALLOWANCE_COOLDOWN_SECONDS"),
        ("lock_wait_seconds", "CUSTOMER_LOCK_WAIT_SECONDS"),
    ):
        if env.get(name):
            values[field] = env[name]
    try:
        return RuntimeSettings.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid environment: {exc}") from exc


def parse_secret(document: object) -> SecretDocument:
    """Validate the secret's JSON; the error names the fields, never their values."""
    try:
        return SecretDocument.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid secret document: {problems}") from None


class SettingsSource:
    """The environment, read once, and the secret, read through Powertools Parameters: cached for
    `POWERTOOLS_PARAMETERS_MAX_AGE` seconds (template.yaml sets 300), then read again, so a rotated secret is picked up
    within that time without a cold start."""

    def __init__(self) -> None:
        import boto3
        from aws_lambda_powertools.utilities import parameters
        from botocore.config import Config

        self.runtime = runtime_settings_from_env()
        self.max_age = float(os.environ.get("POWERTOOLS_PARAMETERS_MAX_AGE") or 300)
        # From boto3's default session, as the handlers' DynamoDB client is: one botocore session per cold start
        # loads the endpoint rules and service data once (left alone, Powertools would build a second session).
        client = boto3.client(
            "secretsmanager",
            config=Config(
                connect_timeout=self.runtime.connect_timeout,
                read_timeout=self.runtime.read_timeout,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        self._provider = parameters.SecretsProvider(boto3_client=client)
        self._transform_error = parameters.exceptions.TransformParameterError
        self._checked_at = time.monotonic()

    def changed(self, current: Settings) -> Settings | None:
        """The settings again once the cache age has passed, when the secret differs from `current`; else None.
        A rotated secret takes effect within POWERTOOLS_PARAMETERS_MAX_AGE without a cold start; a failed read keeps
        the settings that worked a moment ago."""
        if time.monotonic() - self._checked_at < self.max_age:
            return None
        self._checked_at = time.monotonic()
        try:
            settings = self.load()
        except Exception as exc:
            logger.warning("secret not read again; keeping the one read before", extra={"reason": type(exc).__name__})
            return None
        if settings == current:
            return None
        logger.info("secret changed: clients rebuilt")
        return settings

    def load(self) -> Settings:
        try:
            document = self._provider.get(self.runtime.secret_id, transform="json", max_age=int(self.max_age))
        except self._transform_error:
            raise ConfigurationError(f"secret {self.runtime.secret_id} is not valid JSON") from None
        return Settings(runtime=self.runtime, secret=parse_secret(document))


def load_settings() -> Settings:
    """Read the environment and the secret (through Powertools Parameters, cached) and validate both."""
    return SettingsSource().load()
