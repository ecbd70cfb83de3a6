"""Settings from the environment: defaults, URL spellings, production rules, and messages
that name the variable to fix; and the real process refusing to serve prod on dev secrets."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from server.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_SECRET_KEY,
    Environment,
    Settings,
    SettingsError,
    normalize_database_url,
)
from tests.delivery.certificates import TestCa
from tests.server.process import ROOT, free_port, is_listening, service_env

STRONG_SECRET = "P2jw6HsLx0PPldGq_p_oD82hiK3iozwVt8Hor_IPZEg"  # secrets.token_urlsafe(32)
PROD = {"ENVIRONMENT": "prod", "SECRET_KEY": STRONG_SECRET}


# --- defaults ------------------------------------------------------------------------------


def test_an_empty_environment_gives_the_embedded_development_defaults() -> None:
    # Given no settings in the environment
    # When settings are read
    settings = Settings.from_env({})

    # Then they run the embedded default: SQLite file, in-process broadcast, dev conveniences
    assert settings == Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite+aiosqlite:///var/credentials.db"
    assert settings.broadcast_url == "memory://"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.environment is Environment.DEV
    assert settings.secret_key == DEFAULT_SECRET_KEY
    assert settings.graphiql
    assert settings.introspection
    assert settings.load_demo_data
    assert settings.allowed_origins == ()
    assert settings.sqlite_busy_timeout_ms == 15_000
    assert settings.log_level == "INFO"
    assert settings.is_sqlite
    assert settings.sqlite_path() == Path("var/credentials.db")
    settings.check_production_ready()  # dev runs on dev defaults


def test_empty_values_mean_the_default() -> None:
    # Given every variable set but empty (as `VAR=` in a compose file leaves it)
    env = {field.name.upper(): "" for field in fields(Settings) if field.name != "environment"}

    # When settings are read
    settings = Settings.from_env(env)

    # Then each falls back to its default
    assert settings == Settings()


def test_an_empty_environment_variable_means_dev() -> None:
    # Given ENVIRONMENT set but empty
    # When settings are read
    settings = Settings.from_env({"ENVIRONMENT": ""})

    # Then it means the default, dev, like every other empty variable
    assert settings.environment is Environment.DEV


def test_values_are_read_and_tidied() -> None:
    # Given explicit values, some loosely written
    env = {
        "HOST": "0.0.0.0",
        "PORT": "9000",
        "BROADCAST_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_ORIGINS": " https://a.example ,https://b.example,, ",
        "SQLITE_BUSY_TIMEOUT_MS": "0",
        "LOG_LEVEL": "debug",
        "SECRET_KEY": "a-dev-key",
    }

    # When settings are read
    settings = Settings.from_env(env)

    # Then they are kept, lists split and trimmed, the log level upper-cased
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.broadcast_url == "redis://127.0.0.1:6379/0"
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.sqlite_busy_timeout_ms == 0
    assert settings.log_level == "DEBUG"
    assert settings.secret_key == "a-dev-key"


# --- DATABASE_URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("sqlite:///relative/x.db", "sqlite+aiosqlite:///relative/x.db"),
        ("sqlite:////absolute/x.db", "sqlite+aiosqlite:////absolute/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://app@db:5432/credentials", "postgresql+asyncpg://app@db:5432/credentials"),
        ("postgresql://app@db:5432/credentials", "postgresql+asyncpg://app@db:5432/credentials"),
        (
            "postgresql://app:secret@db/credentials?sslmode=require",
            "postgresql+asyncpg://app:secret@db/credentials?sslmode=require",
        ),
        ("postgresql+asyncpg://app@db/credentials", "postgresql+asyncpg://app@db/credentials"),
    ],
)
def test_database_url_spellings_are_normalized_to_the_async_drivers(
    given: str, normalized: str
) -> None:
    # Given a DATABASE_URL as operators usually write it
    # When settings are read
    settings = Settings.from_env({"DATABASE_URL": given})

    # Then the URL names the async driver the service runs on
    assert settings.database_url == normalized == normalize_database_url(normalized)


@pytest.mark.parametrize(
    "given",
    [
        "mysql://app@db/credentials",
        "postgresql+psycopg://app@db/credentials",
        "sqlite://",
        "credentials.db",
        "SQLITE:///x.db",
    ],
)
def test_an_unsupported_database_url_is_refused_naming_the_variable(given: str) -> None:
    # Given a DATABASE_URL this service cannot use
    # When settings are read
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"DATABASE_URL": given})

    # Then the message names the variable, repeats the value and shows what works
    message = str(refused.value)
    assert message.startswith("DATABASE_URL")
    assert repr(given) in message
    assert "sqlite:///" in message
    assert "postgresql://" in message


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///var/x.db", Path("var/x.db")),
        ("sqlite:////srv/data/x.db", Path("/srv/data/x.db")),
        ("sqlite+aiosqlite:///:memory:", None),
        ("postgresql://app@db/credentials", None),
    ],
)
def test_sqlite_path_is_the_file_to_create(url: str, path: Path | None) -> None:
    assert Settings.from_env({"DATABASE_URL": url}).sqlite_path() == path


# --- production ----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["prod", "PROD", " Prod "])
def test_prod_turns_the_development_conveniences_off(spelling: str) -> None:
    # Given production with a strong secret
    # When settings are read
    settings = Settings.from_env({**PROD, "ENVIRONMENT": spelling})

    # Then no IDE, no introspection, no demo data, and it may run
    assert settings.environment is Environment.PROD
    assert not settings.graphiql
    assert not settings.introspection
    assert not settings.load_demo_data
    settings.check_production_ready()


def test_prod_can_turn_graphiql_and_introspection_back_on() -> None:
    # Given production that asks for the IDE and introspection explicitly
    # When settings are read
    settings = Settings.from_env({**PROD, "GRAPHIQL": "true", "INTROSPECTION": "true"})

    # Then it gets them, and may still run
    assert settings.graphiql
    assert settings.introspection
    settings.check_production_ready()


def test_dev_can_turn_graphiql_introspection_and_demo_data_off() -> None:
    settings = Settings.from_env(
        {"GRAPHIQL": "false", "INTROSPECTION": "0", "LOAD_DEMO_DATA": "off"}
    )
    assert (settings.graphiql, settings.introspection, settings.load_demo_data) == (
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="unset"),
        pytest.param(DEFAULT_SECRET_KEY, id="the-development-default"),
        pytest.param("P2jw6HsLx0PPldGq_p_oD82hiK3iozw", id="31-characters"),
        pytest.param("s" * 32, id="32-identical-characters"),
        pytest.param("abcd" * 8, id="a-repeated-pattern"),
        pytest.param("secretsecretsecretsecretsecret12", id="a-word-repeated"),
        pytest.param("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab1", id="almost-all-one-character"),
    ],
)
def test_prod_refuses_a_weak_secret_key(secret: str | None) -> None:
    # Given production with no secret, the development one, or one too short
    env = {"ENVIRONMENT": "prod"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    settings = Settings.from_env(env)

    # When it is checked before serving
    with pytest.raises(SettingsError) as refused:
        settings.check_production_ready()

    # Then it is refused, naming the variable and how to make a good value
    assert "SECRET_KEY" in str(refused.value)
    assert "32 characters" in str(refused.value)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(STRONG_SECRET, id="token_urlsafe"),
        pytest.param("9f86d081884c7d659a2feaa0c55ad015", id="token_hex-16"),
    ],
)
def test_prod_accepts_a_random_secret_key_of_32_characters(secret: str) -> None:
    Settings.from_env({**PROD, "SECRET_KEY": secret}).check_production_ready()


def test_prod_refuses_demo_data() -> None:
    # Given production asked to load the demo organization
    settings = Settings.from_env({**PROD, "LOAD_DEMO_DATA": "true"})

    # When it is checked before serving
    with pytest.raises(SettingsError) as refused:
        settings.check_production_ready()

    # Then it is refused, naming the variable
    assert "LOAD_DEMO_DATA" in str(refused.value)


# --- malformed values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
    ],
)
def test_boolean_spellings(raw: str, value: bool) -> None:
    assert Settings.from_env({"GRAPHIQL": raw}).graphiql is value


@pytest.mark.parametrize(
    ("variable", "raw", "expected"),
    [
        ("GRAPHIQL", "maybe", "GRAPHIQL='maybe' is not a boolean"),
        ("INTROSPECTION", "2", "INTROSPECTION='2' is not a boolean"),
        ("LOAD_DEMO_DATA", "yess", "LOAD_DEMO_DATA='yess' is not a boolean"),
        ("PORT", "http", "PORT='http' is not a whole number"),
        ("PORT", "80.5", "PORT='80.5' is not a whole number"),
        ("PORT", "0", "PORT=0 must be at least 1"),
        ("SQLITE_BUSY_TIMEOUT_MS", "-5", "SQLITE_BUSY_TIMEOUT_MS=-5 must be at least 0"),
        ("SQLITE_BUSY_TIMEOUT_MS", "15s", "SQLITE_BUSY_TIMEOUT_MS='15s' is not a whole number"),
        ("ENVIRONMENT", "staging", "ENVIRONMENT='staging' is not known: use dev or prod"),
        ("MEDIA_MAX_FILE_BYTES", "0", "MEDIA_MAX_FILE_BYTES=0 must be at least 1"),
        ("MEDIA_MAX_FILES", "ten", "MEDIA_MAX_FILES='ten' is not a whole number"),
        ("MAX_REQUEST_BYTES", "1000", "MAX_REQUEST_BYTES=1000 must be at least 1048576"),
        ("MEDIA_LINK_SECONDS", "0", "MEDIA_LINK_SECONDS=0 must be at least 1"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_variable(
    variable: str, raw: str, expected: str
) -> None:
    # Given a value that cannot mean anything for its variable
    # When settings are read
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: raw})

    # Then the message names the variable and the value
    assert expected in str(refused.value)


def test_media_settings_are_read_and_the_request_cap_follows_the_file_caps() -> None:
    # Given smaller file caps and encryption keys
    settings = Settings.from_env(
        {
            "MEDIA_DIR": "/srv/media",
            "MEDIA_MAX_FILE_BYTES": "5000000",
            "MEDIA_MAX_FILES": "4",
            "MEDIA_LINK_SECONDS": "60",
            "MEDIA_ENCRYPTION_KEYS": " new , old ",
        }
    )

    # Then they are read, and the request cap fits a full version and the operation
    assert settings.media_dir == Path("/srv/media")
    assert (settings.media_max_file_bytes, settings.media_max_files) == (5_000_000, 4)
    assert settings.max_request_bytes == 4 * 5_000_000 + 1024 * 1024
    assert settings.media_link_seconds == 60
    assert settings.media_encryption_keys == ("new", "old")
    assert Settings.from_env({"MAX_REQUEST_BYTES": "2000000"}).max_request_bytes == 2_000_000


def test_an_unknown_log_level_is_refused_naming_the_variable() -> None:
    # Given a log level uvicorn does not know
    # When settings are read
    # Then it is refused at once, naming the variable
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        Settings.from_env({"LOG_LEVEL": "verbose"})


def test_an_unsupported_broadcast_url_is_refused_naming_the_variable() -> None:
    # Given a broker this service has no backend for
    # When settings are read
    # Then it is refused at once, naming the variable
    with pytest.raises(SettingsError, match="BROADCAST_URL"):
        Settings.from_env({"BROADCAST_URL": "kafka://broker:9092"})


# --- the real process ----------------------------------------------------------------------


def test_serve_in_prod_without_a_secret_key_exits_at_once_without_listening(
    tmp_path: Path,
) -> None:
    # Given production settings without a usable SECRET_KEY
    env = {"ENVIRONMENT": "prod", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    port = free_port()

    # When the service is started
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        cwd=ROOT,
        env=service_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    # Then it exits with a usage error, says why on stderr, and never listened or touched data
    assert result.returncode == 2
    assert result.stderr.startswith("error: ENVIRONMENT=prod needs SECRET_KEY")
    assert "Traceback" not in result.stderr
    assert "Started server process" not in result.stderr
    assert "Uvicorn running" not in result.stderr
    assert not is_listening(port)
    assert not (tmp_path / "x.db").exists()


# --- delivery (email) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "username", "password"),
    [
        ("smtp://mail.example.com", "mail.example.com", 25, "smtp", None, None),
        (
            "smtp://u%40x:p%3Aw@mail.example.com:2525",
            "mail.example.com",
            2525,
            "smtp",
            "u@x",
            "p:w",
        ),
        (
            "smtp+starttls://mailer:pw@mail.example.com",
            "mail.example.com",
            587,
            "smtp+starttls",
            "mailer",
            "pw",
        ),
        ("smtps://mailer:pw@mail.example.com", "mail.example.com", 465, "smtps", "mailer", "pw"),
    ],
)
def test_smtp_url_spellings(
    url: str, host: str, port: int, security: str, username: str | None, password: str | None
) -> None:
    target = Settings.from_env({"SMTP_URL": url}).smtp_target()

    assert target is not None
    assert (target.host, target.port, target.security.value) == (host, port, security)
    assert (target.username, target.password) == (username, password)


def test_without_smtp_url_email_is_off() -> None:
    assert Settings.from_env({}).smtp_target() is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mail.example.com:25", "SMTP_URL must start with smtp://"),
        ("smtp://mailer:secret-pw@mail.example.com:99999", "port that is not a number"),
        ("smtp://mailer:secret-pw@/", "names no host"),
        ("smtp://mail.example.com/inbox", "takes no path"),
        ("smtp://:secret-pw@mail.example.com", "password without a user name"),
    ],
)
def test_an_smtp_url_that_cannot_work_is_refused_without_repeating_it(
    url: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as refused:
        Settings.from_env({"SMTP_URL": url})

    assert "secret-pw" not in str(refused.value)


def test_the_smtp_password_stays_out_of_the_settings_repr() -> None:
    settings = Settings.from_env({"SMTP_URL": "smtp://mailer:secret-pw@mail.example.com"})

    assert "secret-pw" not in repr(settings)
    assert "secret-pw" not in repr(settings.smtp_target())


def test_smtp_ca_file_is_what_verifies_the_relay_instead_of_the_system_cas(
    tmp_path: Path,
) -> None:
    ca = TestCa(tmp_path, "Relay CA")

    settings = Settings.from_env({"SMTP_CA_FILE": str(ca.ca_file)})

    assert settings.smtp_ca_file == ca.ca_file
    context = settings.smtp_tls_context()
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert context.get_ca_certs(binary_form=True) == [ca.certificate.public_bytes(Encoding.DER)]
    assert Settings.from_env({}).smtp_tls_context() is None  # aiosmtplib's: the system's


def _unreadable_copy(source: Path, path: Path) -> None:
    path.write_bytes(source.read_bytes())
    path.chmod(0)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: None, "no such file or directory"),
        (lambda path: path.mkdir(), "is a directory"),
        (lambda path: path.write_text("not a certificate\n"), "holds no PEM certificate"),
        pytest.param(
            lambda path: _unreadable_copy(TestCa(path.parent / "ca").ca_file, path),
            "permission denied",
            marks=pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file"),
        ),
    ],
)
def test_an_smtp_ca_file_that_cannot_be_used_is_refused_saying_why(
    tmp_path: Path, make: Callable[[Path], object], reason: str
) -> None:
    path = tmp_path / "relay-ca.pem"
    make(path)

    with pytest.raises(SettingsError, match="SMTP_CA_FILE") as refused:
        Settings.from_env({"SMTP_CA_FILE": str(path)})

    assert reason in str(refused.value)
    assert "PEM file of the CA certificates" in str(refused.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PUBLIC_URL": "dash.example.com"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "https://dash.example.com/?x=1"}, "PUBLIC_URL"),
        ({"SMTP_FROM": "no address"}, "SMTP_FROM"),
        ({"SMTP_FROM": "a@example.com\r\nBcc: b@example.com"}, "SMTP_FROM"),
        ({"DELIVERY_MAX_ATTEMPTS": "0"}, "DELIVERY_MAX_ATTEMPTS"),
        ({"DELIVERY_WORKER": "sometimes"}, "DELIVERY_WORKER"),
    ],
)
def test_delivery_settings_that_make_no_sense_are_refused(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_delivery_settings_are_read_and_links_default_to_this_instance_in_dev() -> None:
    settings = Settings.from_env(
        {
            "PUBLIC_URL": "https://dash.example.com/app/",
            "SMTP_FROM": "Credentials <no-reply@example.com>",
            "DELIVERY_WORKER": "off",
            "DELIVERY_MAX_ATTEMPTS": "3",
            "DELIVERY_INTERVAL_S": "5",
            "DELIVERY_RETRY_BASE_S": "10",
            "SMTP_TIMEOUT_S": "7",
        }
    )

    assert settings.public_url == "https://dash.example.com/app"
    assert settings.smtp_from == "Credentials <no-reply@example.com>"
    assert not settings.delivery_worker
    assert (settings.delivery_max_attempts, settings.delivery_interval_s) == (3, 5)
    assert (settings.delivery_retry_base_s, settings.smtp_timeout_s) == (10, 7)
    assert Settings.from_env({}).email_public_url() == "http://127.0.0.1:8000"


def test_prod_with_email_needs_the_dashboard_address_for_its_links() -> None:
    settings = Settings.from_env({**PROD, "SMTP_URL": "smtp://mail.example.com"})

    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        settings.check_production_ready()
    Settings.from_env(
        {**PROD, "SMTP_URL": "smtp://mail.example.com", "PUBLIC_URL": "https://dash.example.com"}
    ).check_production_ready()
