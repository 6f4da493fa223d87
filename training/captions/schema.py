"""The structured summary every generator produces, and the caption text the model trains on."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]


class ProposalSummary(BaseModel):
    """The paper's two lists: what the images show, and what they are for (most relevant first)."""

    model_config = ConfigDict(extra="forbid")

    objects_and_phenomena: list[Item] = Field(min_length=1, max_length=5)
    science_use_cases: list[Item] = Field(min_length=1, max_length=5)

    @field_validator("objects_and_phenomena", "science_use_cases")
    @classmethod
    def _distinct(cls, items: list[str]) -> list[str]:
        """Drop repeats (case-insensitive) and the separators the caption text itself uses."""
        seen: set[str] = set()
        out = []
        for item in items:
            if ";" in item:
                raise ValueError(f"item contains ';': {item!r}")
            if item.lower() not in seen:
                seen.add(item.lower())
                out.append(item)
        return out

    @property
    def text(self) -> str:
        """``"<objects>; <use cases>"``, the caption paired with the images."""
        return f"{', '.join(self.objects_and_phenomena)}; {', '.join(self.science_use_cases)}"


def json_schema() -> dict:
    """The JSON schema sent to the LLM as ``response_format`` (strict mode wants no extras)."""
    item = {"type": "string"}
    lst = {"type": "array", "items": item, "minItems": 1, "maxItems": 5}
    return {
        "type": "object",
        "properties": {"objects_and_phenomena": lst, "science_use_cases": lst},
        "required": ["objects_and_phenomena", "science_use_cases"],
        "additionalProperties": False,
    }
