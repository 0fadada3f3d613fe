"""The reusable permission matrix: who may open a URL and what everybody else gets.

    assert_access(client, personas, {"anonymous": LOGIN, "outsider": 404, "office": 200}, url)

Every view test file feeds it the personas from conftest.py.
"""

from django.conf import settings
from django.test import Client
from django.urls import reverse

LOGIN = "login"


def _status(client: Client, user, url: str, method: str, data: dict | None) -> int | str:
    client.logout()
    if user is not None:
        client.force_login(user)
    response = getattr(client, method)(url, data or {})
    if response.streaming:  # exhaust downloads so their file is closed, as a WSGI server would
        b"".join(response.streaming_content)
    if response.status_code == 302 and response["Location"].startswith(reverse(settings.LOGIN_URL)):
        return LOGIN
    return response.status_code


def assert_access(
    client: Client,
    personas: dict,
    expected: dict[str, int | str],
    url: str,
    *,
    method: str = "get",
    data: dict | None = None,
) -> None:
    got = {name: _status(client, personas[name], url, method, data) for name in expected}
    assert got == expected, f"{method.upper()} {url}"
