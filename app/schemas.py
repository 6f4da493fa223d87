"""Response bodies of the REST API (also what the HTML templates render)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer, computed_field

from paperclip.mentions import evidence


def rfc3339(value: datetime) -> str:
    """UTC with a ``Z`` and whole seconds; a naive time (SQLite keeps no offset) is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


UtcTime = Annotated[datetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]


class ProposalBrief(BaseModel):
    id: int = Field(description="Database id, for /proposals/{id}")
    proposal_id: str = Field(description="The archive's proposal (program) id")
    collection: str
    title: str | None = None
    pi: str | None = None
    cycle: int | None = None
    category: str | None = None
    program_url: str | None = Field(None, description="STScI program information page (HST only)")


class ObservationOut(BaseModel):
    id: int = Field(description="Database id (also the vector id in the index)")
    obs_id: str
    collection: str
    instrument: str | None = None
    filters: str | None = None
    target: str | None = None
    ra: float | None = None
    dec: float | None = None
    start_time: UtcTime | None = Field(None, description="Observation start, UTC (RFC 3339)")
    exposure_s: float | None = None
    width: int | None = None
    height: int | None = None
    preview_url: str = Field(description="This service's preview image")
    mast_url: str | None = Field(None, description="The observation in the MAST Portal (HST only)")


class Hit(BaseModel):
    rank: int
    score: float = Field(description="Cosine similarity in the joint embedding")
    observation: ObservationOut
    proposal: ProposalBrief


class SearchPage(BaseModel):
    query: str | None = None
    k: int
    page: int
    has_next: bool
    index_version: int
    synthetic: bool = Field(description="True when the archive holds synthetic (SYNTH) data")
    results: list[Hit]


class Description(BaseModel):
    rank: int
    text: str
    kind: str = Field(description="object | use_case")
    score: float


class ProposalMatch(BaseModel):
    score: float = Field(description="Best similarity among the proposal's observations")
    proposal: ProposalBrief
    summary: str | None = None


class DescribeResult(BaseModel):
    index_version: int
    descriptions: list[Description]
    proposals: list[ProposalMatch]


class ProposalDetail(ProposalBrief):
    abstract: str | None = None
    summary: str | None = None
    observations: list[ObservationOut] = Field(default_factory=list)

    @computed_field(description="Summary term -> the words of the title or abstract that say it")
    @property
    def summary_evidence(self) -> dict[str, str]:
        terms = [t.strip() for part in (self.summary or "").split(";") for t in part.split(",")]
        return evidence(self.abstract, self.title, [t for t in terms if t]) if self.summary else {}


class ObservationDetail(ObservationOut):
    proposal: ProposalDetail


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    reason: str | None = None


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str = Field(description="ready | unavailable")
    database: bool
    index_version: int | None = Field(None, description="The version served")
    active_version: int | None = Field(None, description="The version activated in the database")
    vectors: int | None = None
    last_error: str | None = Field(None, description="Why the active version is not served, if it is not")
    detail: str | None = None
