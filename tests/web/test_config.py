"""The web config section: defaults, and validation messages that name the dotted key."""
from __future__ import annotations

import pytest

from edgeocr.config import Config, config_from_dict
from edgeocr.errors import ConfigError


def test_defaults_are_safe():
    web = Config().web
    assert web.host == "127.0.0.1" and web.port == 8080  # loopback unless the user says otherwise
    assert web.token is None and web.max_body_bytes == 20 * 1024 * 1024
    assert web.threads >= web.jobs + web.queue_size + 1


@pytest.mark.parametrize("section, key", [
    ({"port": 70000}, "web.port"),
    ({"threads": 3, "jobs": 1, "queue_size": 4}, "web.threads"),
    ({"jobs": 0}, "web.jobs"),
    ({"queue_size": -1}, "web.queue_size"),
    ({"max_body_bytes": 0}, "web.max_body_bytes"),
    ({"max_batch_images": 0}, "web.max_batch_images"),
    ({"token": "short"}, "web.token"),
    ({"cache_entries": -1}, "web.cache_entries"),
    ({"host": ""}, "web.host"),
    ({"retry_after_seconds": 0}, "web.retry_after_seconds"),
    ({"port": "eighty"}, "web.port"),
    ({"colour": "blue"}, "web.colour"),
    ({"request_timeout_seconds": float("nan")}, "web.request_timeout_seconds"),
    ({"request_timeout_seconds": float("inf")}, "web.request_timeout_seconds"),
    ({"request_timeout_seconds": 0.5}, "web.request_timeout_seconds"),
    ({"max_connections": 2}, "web.max_connections"),
    ({"allowed_hosts": ["ok.lan", "http://bad/"]}, "web.allowed_hosts[1]"),
    ({"allowed_hosts": "ok.lan"}, "web.allowed_hosts"),
])
def test_bad_values_name_the_key(section, key):
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"web": section}, "test.yaml")
    assert key in caught.value.message and "test.yaml" in caught.value.message


def test_a_token_and_a_lan_address_are_accepted():
    web = config_from_dict({"web": {"host": "0.0.0.0", "token": "a-long-enough-token", "port": 0}}).web
    assert web.host == "0.0.0.0" and web.token == "a-long-enough-token" and web.port == 0


def test_the_connection_and_host_keys_have_documented_defaults():
    web = Config().web
    assert (web.request_timeout_seconds, web.max_connections, web.allowed_hosts) == (60.0, 100, ())
    assert config_from_dict({"web": {"allowed_hosts": ["scanner.lan", "*"]}}).web.allowed_hosts == ("scanner.lan", "*")
