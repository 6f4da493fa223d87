"""One settings object for every layer (env prefix ``PAPERCLIP_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERCLIP_", env_file=".env", extra="ignore")

    home: Path = Field(
        default=Path("~/.paperclip"), description="Data home: DB file, images, checkpoints, indexes"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in the data home"
    )

    # Models
    base_model: str = Field(default="ViT-B-16:openai", description="Base model spec for the paper recipe")
    device: str = Field(default="auto", description="auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")

    # Harvest
    mast_timeout_s: float = 60.0
    download_concurrency: int = 8
    download_retries: int = 4
    max_previews_per_proposal: int = 20
    abstracts_url: str | None = None

    # Captions (any OpenAI-compatible chat endpoint)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_concurrency: int = 4
    llm_timeout_s: float = 120.0

    # Service
    admin_token: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 64_000_000
    text_cache_size: int = 4096
    max_k: int = 200

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'paperclip.db'}"

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()


@lru_cache
def get_settings() -> Settings:
    return Settings()
