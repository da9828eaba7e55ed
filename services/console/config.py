"""Console settings (env prefix `CONSOLE_`; platform settings under `CASEFLOW_`)."""

from __future__ import annotations

from pydantic import Field, HttpUrl
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import PlatformSettings

DEPARTMENTS = ("intake", "legal_aid", "mediation", "notary")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    port: int = Field(default=8100, ge=1, le=65535)
    metrics_url: HttpUrl = HttpUrl("http://127.0.0.1:8105")
    intake_url: HttpUrl = HttpUrl("http://127.0.0.1:8101")
    legal_aid_url: HttpUrl = HttpUrl("http://127.0.0.1:8102")
    mediation_url: HttpUrl = HttpUrl("http://127.0.0.1:8103")
    notary_url: HttpUrl = HttpUrl("http://127.0.0.1:8104")
    #: seconds per upstream call; a slow department must not hold the whole page
    timeout: float = Field(default=5.0, gt=0, le=60)
    default_region: str = Field(default="431000000000", pattern=r"^\d{12}$")
    #: "due soon" on the worklists = due within this many days
    due_soon_days: int = Field(default=3, ge=1, le=30)
    #: the JSON-lines span file of `shared.telemetry.JsonLinesSpanExporter`; empty = CASEFLOW_OTEL_FILE
    traces_file: str = ""
    #: Zipkin's base URL (`make run`: http://127.0.0.1:19411): each step of a case trace links to its trace there;
    #: unset, the console shows nothing of Zipkin and links to its own span view of `traces_file`
    zipkin_url: HttpUrl | None = None
    #: mark the session cookie Secure (sent over HTTPS only): on wherever the console is served over TLS
    cookie_secure: bool = False
    platform: PlatformSettings = Field(default_factory=PlatformSettings)

    def url_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    @property
    def zipkin_base(self) -> str | None:
        return str(self.zipkin_url).rstrip("/") if self.zipkin_url is not None else None

    @property
    def trace_path(self) -> str:
        return self.traces_file or self.platform.otel_file
