"""One settings object for every layer (env prefix ``PAPERCLIP_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    embed_chunk: int = Field(default=8192, description="Vectors per resumable work file (one Ray Data shard)")
    ray_num_cpus: int | None = Field(
        default=None,
        description="Cores of the embedded Ray cluster (unset: all); RAY_ADDRESS joins a cluster",
    )
    index_exact_max: int = Field(default=50_000, description="kind=auto: exact (flat) search up to this many")
    index_hnsw_max: int = Field(
        default=2_000_000, description="kind=auto: HNSW up to this many, IVF-PQ beyond"
    )

    # Preview shards (decoded 512 px previews that training and embedding read instead of JPEGs)
    shards_dir: Path | None = Field(
        default=None, description="Preview shards folder (768 KiB per preview); default <home>/shards"
    )
    shard_records: int = Field(default=1024, description="Previews per shard file (768 KiB each)")

    # Captions (any OpenAI-compatible chat endpoint)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_concurrency: int = 4
    llm_timeout_s: float = 120.0
    llm_max_retries: int = Field(default=4, description="Retries of one request on 429, 5xx and timeouts")
    llm_retry_backoff_s: float = Field(default=1.0, description="First LLM retry delay; doubles per retry")

    # Database connections (every layer)
    db_connect_timeout_s: float = Field(default=5.0, description="Give up connecting to Postgres after this")
    db_statement_timeout_s: float = Field(
        default=60.0, description="Postgres cancels any statement running longer (0: no limit)"
    )
    db_pool_timeout_s: float = Field(
        default=10.0, description="Wait at most this long for a free pooled connection (then a 503)"
    )

    # Service
    admin_token: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 64_000_000
    text_cache_size: int = 4096
    index_poll_s: float = Field(
        default=5.0, description="How often the service checks for a newly activated index"
    )
    index_retry_s: float = Field(
        default=5.0, description="First retry delay of an index version that failed to load; doubles"
    )
    index_retry_max_s: float = Field(default=300.0, description="Longest delay between those retries")
    compile_text: bool = Field(
        default=False,
        description="On a GPU, torch.compile the text encoder with CUDA graphs (slow first start)",
    )
    text_runtime: Literal["torch", "onnx"] = Field(
        default="onnx",
        description="CPU text encoder: onnx (ONNX Runtime, used only if it matches torch to cosine >= 0.99) or torch",
    )
    search_mode: Literal["vector", "text", "hybrid"] = Field(
        default="text",
        description="How a text search ranks when the request names no mode: the winner of "
        "benchmarks/bench_hybrid.py on the demo; rerun it on your archive to choose",
    )
    query_prompts: bool = Field(
        default=False,
        description="Average a text query's embedding over prompt templates (paperclip.query_embedding)",
    )
    query_expand_terms: int = Field(
        default=0,
        ge=0,
        description="Blend a text query toward its N nearest vocabulary terms (0: off; measured in "
        "benchmarks/bench_query.py, it helps a model whose text side was trained, not the lite default)",
    )
    query_expand_weight: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Weight of those terms in the blend (0: off, 1: terms only)"
    )
    describe_hub_norm: bool = Field(
        default=True,
        description="Rank descriptions against the archive's images (paperclip.description_bank), not by bare cosine",
    )
    mast_portal_url: str = Field(
        default="https://mast.stsci.edu/portal/Mashup/Clients/Mast/Portal.html?searchQuery=",
        description="MAST Portal search link prefix; an observation's obs_id is appended",
    )
    log_level: str = Field(default="INFO", description="Service log level")
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line (with request_id); text: plain lines"
    )
    rate_limit: str = Field(
        default="",
        description="Per-client limits ('limits' syntax), e.g. '20/second;600/minute'; empty: none",
    )
    rate_limit_storage_uri: str = Field(
        default="memory://", description="Where rate-limit counters live (memory:// is per process)"
    )
    queue_size: int = Field(default=256, description="Requests waiting per batcher before 503s")
    queue_timeout_s: float = Field(
        default=10.0, description="A request waiting longer than this for the model or index gets a 503"
    )
    max_concurrent_decodes: int | None = Field(
        default=None, description="Uploaded images decoded at once; default one per CPU"
    )
    retry_after_s: int = Field(default=5, description="Retry-After of a 503 (no database, no index)")
    search_threads: int | None = Field(
        default=None, description="FAISS OpenMP threads of the search batcher; default every CPU"
    )
    filter_exact_max: int = Field(
        default=20_000,
        description="A filter allowing at most this many vectors is answered by exact scoring of just those",
    )

    # Search by sky position
    sesame_url: str = Field(
        default="https://cds.unistra.fr/cgi-bin/nph-sesame/",
        description="CDS Sesame name resolver for near=NAME (after the archive's own targets); empty: off",
    )
    sesame_timeout_s: float = Field(default=5.0, description="Seconds to wait for Sesame")
    samp_hub_url: str = Field(
        default="http://localhost:21012/",
        description="Where the UI's SAMP button finds the user's hub (the SAMP Web Profile's fixed address)",
    )
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
