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
    download_backoff_s: float = Field(default=1.0, description="First retry delay; doubles per retry")
    max_download_bytes: int = Field(default=200 * 1024 * 1024, description="Larger downloads are rejected")
    mast_download_url: str = Field(
        default="https://mast.stsci.edu/api/v0.1/Download/file", description="MAST file endpoint (?uri=...)"
    )

    # Index
    embed_batch_size: int = Field(default=256, description="Previews per forward pass when indexing")
    embed_workers: int | None = Field(
        default=None, description="DataLoader decode processes; default CPUs - 1"
    )
    embed_chunk: int = Field(default=8192, description="Vectors per resumable work file")
    index_exact_max: int = Field(default=1_000_000, description="kind=auto: exact search up to this many")

    # Captions (any OpenAI-compatible chat endpoint)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_concurrency: int = 4
    llm_timeout_s: float = 120.0
    llm_max_retries: int = Field(default=4, description="Retries of one request on 429, 5xx and timeouts")
    llm_retry_backoff_s: float = Field(default=1.0, description="First LLM retry delay; doubles per retry")

    # Service
    admin_token: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 64_000_000
    text_cache_size: int = 4096
    max_k: int = 200
    index_poll_s: float = Field(
        default=5.0, description="How often the service checks for a newly activated index"
    )
    compile_text: bool = Field(
        default=False,
        description="On a GPU, torch.compile the text encoder with CUDA graphs (slow first start)",
    )
    mast_portal_url: str = Field(
        default="https://mast.stsci.edu/portal/Mashup/Clients/Mast/Portal.html?searchQuery=",
        description="MAST Portal search link prefix; an observation's obs_id is appended",
    )

    # Search by sky position
    sesame_url: str = Field(
        default="https://cds.unistra.fr/cgi-bin/nph-sesame/",
        description="CDS Sesame name resolver for near=NAME (after the archive's own targets); empty: off",
    )
    sesame_timeout_s: float = Field(default=5.0, description="Seconds to wait for Sesame")
    sesame_retry_s: float = Field(
        default=60.0, description="After Sesame fails to answer, resolve offline only for this long"
    )

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'paperclip.db'}"

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()


@lru_cache
def get_settings() -> Settings:
    return Settings()
