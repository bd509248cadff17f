"""The identity URL (`/id/<org>/<user>`) and OpenID Connect userinfo of the user a token belongs to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import json_response
from sandbox.salesforce.ids import canonical_id
from sandbox.salesforce.oauth import OAuthEndpoints
from sandbox.salesforce.state import DEFAULT_VERSION, SimUser
from sandbox.salesforce.values import format_datetime


class IdentityEndpoints(OAuthEndpoints):
    """`/id/<org>/<user>` and `/services/oauth2/userinfo`."""

    def _request_user(self, request: Request) -> SimUser | None:
        header = request.headers.get("Authorization", "")
        if header:
            return self._bearer_user(header)
        return self._token_user(request.values.get("oauth_token", ""))

    def _identity_endpoint(self, request: Request, raw_org: str, raw_user: str) -> Response:
        if request.method not in ("GET", "POST"):
            return _plain_response("Bad_Request", 405)
        with self.lock:
            user = self._request_user(request)
            if user is None:
                return _plain_response("Bad_OAuth_Token", 403)
            if canonical_id(raw_org) != user.org_id or canonical_id(raw_user) != user.user_id:
                return _plain_response("Bad_Id", 403)
            body = self._identity_body(user, request.values.get("version"))
        return json_response(body, 200, {"Cache-Control": "no-store"})

    def _userinfo_endpoint(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _plain_response("Bad_Request", 405)
        with self.lock:
            user = self._request_user(request)
            if user is None:
                return _plain_response("Bad_OAuth_Token", 403)
            body = self._userinfo_body(user, request.values.get("version"))
        return json_response(body, 200, {"Cache-Control": "no-store"})

    def _identity_body(self, user: SimUser, version: str | None) -> dict[str, Any]:
        return {
            "id": f"{self.url}/id/{user.org_id}/{user.user_id}",
            "asserted_user": True,
            "user_id": user.user_id,
            "organization_id": user.org_id,
            "username": user.username,
            "nick_name": user.nickname,
            "display_name": user.name,
            "email": user.email,
            "email_verified": True,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "timezone": "America/Los_Angeles",
            "photos": self._photos(),
            "addr_street": None,
            "addr_city": None,
            "addr_state": None,
            "addr_country": "US",
            "addr_zip": None,
            "mobile_phone": None,
            "mobile_phone_verified": False,
            "is_lightning_login_user": False,
            "status": {"created_date": None, "body": None},
            "urls": self._identity_urls(user, version),
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": -28800000,
            "last_modified_date": self._user_modified(user),
            "is_app_installed": True,
        }

    def _userinfo_body(self, user: SimUser, version: str | None) -> dict[str, Any]:
        photos = self._photos()
        return {
            "sub": f"{self.url}/id/{user.org_id}/{user.user_id}",
            "user_id": user.user_id,
            "organization_id": user.org_id,
            "preferred_username": user.username,
            "nickname": user.nickname,
            "name": user.name,
            "email": user.email,
            "email_verified": True,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "zoneinfo": "America/Los_Angeles",
            "photos": photos,
            "profile": f"{self.url}/{user.user_id}",
            "picture": photos["picture"],
            "address": {"country": "US"},
            "is_salesforce_integration_user": user.user_id == self.user_id,
            "urls": self._identity_urls(user, version),
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": -28800000,
            "updated_at": self._user_modified(user),
            "is_app_installed": True,
        }

    def _photos(self) -> dict[str, str]:
        return {"picture": f"{self.url}/profilephoto/005/F", "thumbnail": f"{self.url}/profilephoto/005/T"}

    def _identity_urls(self, user: SimUser, version: str | None) -> dict[str, str]:
        v = "{version}" if not version else DEFAULT_VERSION if version == "latest" else version
        org15, base = user.org_id[:15], self.url
        chatter = f"{base}/services/data/v{v}/chatter"
        return {
            "enterprise": f"{base}/services/Soap/c/{v}/{org15}",
            "metadata": f"{base}/services/Soap/m/{v}/{org15}",
            "partner": f"{base}/services/Soap/u/{v}/{org15}",
            "rest": f"{base}/services/data/v{v}/",
            "sobjects": f"{base}/services/data/v{v}/sobjects/",
            "search": f"{base}/services/data/v{v}/search/",
            "query": f"{base}/services/data/v{v}/query/",
            "recent": f"{base}/services/data/v{v}/recent/",
            "tooling_soap": f"{base}/services/Soap/T/{v}/{org15}",
            "tooling_rest": f"{base}/services/data/v{v}/tooling/",
            "profile": f"{base}/{user.user_id}",
            "feeds": f"{chatter}/feeds",
            "groups": f"{chatter}/groups",
            "users": f"{chatter}/users",
            "feed_items": f"{chatter}/feed-items",
            "feed_elements": f"{chatter}/feed-elements",
            "custom_domain": base,
        }

    def _user_modified(self, user: SimUser) -> str:
        record = self._data["User"].get(user.user_id)
        stamp = record["LastModifiedDate"] if record else datetime(2020, 1, 1, tzinfo=UTC)
        return format_datetime(stamp)


def _plain_response(text: str, status: int) -> Response:
    return Response(text, status=status, content_type="text/plain;charset=UTF-8", headers={"Cache-Control": "no-store"})
