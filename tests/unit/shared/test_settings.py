import subprocess
import sys

import pytest
from pydantic import SecretStr, ValidationError

from shared.settings import PlatformSettings, describe_settings_error


def test_defaults_are_valid():
    s = PlatformSettings()
    assert s.partitions >= 1 and s.kafka_bootstrap.endswith(":19092")


@pytest.mark.parametrize(
    "env,name",
    [
        ({"CASEFLOW_KAFKA_BOOTSTRAP": "localhost"}, "CASEFLOW_KAFKA_BOOTSTRAP"),
        ({"CASEFLOW_PARTITIONS": "0"}, "CASEFLOW_PARTITIONS"),
        ({"CASEFLOW_DATABASE_URL": "http://x"}, "CASEFLOW_DATABASE_URL"),
        ({"CASEFLOW_TOPIC_PREFIX": "Bad Prefix"}, "CASEFLOW_TOPIC_PREFIX"),
        ({"CASEFLOW_AUTH_SECRET": "short"}, "CASEFLOW_AUTH_SECRET"),
        ({"CASEFLOW_OTEL_EXPORTER": "jaeger"}, "CASEFLOW_OTEL_EXPORTER"),
        ({"CASEFLOW_OTEL_EXPORTER": "none,zipkin"}, "CASEFLOW_OTEL_EXPORTER"),
    ],
)
def test_bad_setting_is_named(monkeypatch, env, name):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError) as err:
        PlatformSettings()
    assert name in describe_settings_error(err.value, PlatformSettings)


def test_exporters_are_a_set_some_at_once(monkeypatch):
    monkeypatch.setenv("CASEFLOW_OTEL_EXPORTER", " zipkin, file,zipkin ")
    monkeypatch.setenv("CASEFLOW_OTEL_ZIPKIN_ENDPOINT", "http://127.0.0.1:26411/api/v2/spans")
    s = PlatformSettings()
    assert s.otel_exporters == ("zipkin", "file") and s.otel_exporter == "zipkin,file"
    assert PlatformSettings(otel_exporter="none").otel_exporters == ()
    assert s.to_env()["CASEFLOW_OTEL_EXPORTER"] == "zipkin,file"  # what a child process reads back


def test_process_exits_2_naming_the_variable():
    code = "from shared.settings import load_settings, PlatformSettings; load_settings(PlatformSettings)"
    proc = subprocess.run(
        [sys.executable, "-c", code], env={"CASEFLOW_PARTITIONS": "-3", "PATH": ""}, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "CASEFLOW_PARTITIONS" in proc.stderr


def test_settings_pass_to_a_child_process_through_its_environment(monkeypatch):
    given = PlatformSettings(topic_prefix="cf9", partitions=4, kafka_username="metrics",
                             kafka_password=SecretStr("s" * 12), kafka_security_protocol="SASL_PLAINTEXT")  # fmt: skip
    env = given.to_env()
    assert env["CASEFLOW_KAFKA_PASSWORD"] == "s" * 12 and "CASEFLOW_KAFKA_USERNAME" in env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert PlatformSettings() == given
