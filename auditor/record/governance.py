"""The provider's own statements for the EU AI Act's technical documentation (Annex IV).

Most of Annex IV is not something a run can measure: who the provider is, how the system
is placed on the market, the human-oversight measures, the risk-management system. A project
declares them in auditor.yaml's `governance:` section; the run record keeps them as declared
*when the run was captured* (schema 1.4), so a dossier describes the run as recorded, not the
project's auditor.yaml of today. They are the provider's statements: auditor stores and shows
them, it does not verify them.

The intended purpose (Annex IV 1(a)) is not asked here a second time: it is `project.intended_use`.
"""

from typing import Literal

from pydantic import Field, field_validator

from auditor.record.base import Frozen

RiskTier = Literal["high-risk", "limited", "minimal", "not-assessed"]
RISK_TIERS: tuple[RiskTier, ...] = ("high-risk", "limited", "minimal", "not-assessed")

# Every item of Annex IV, in the order of the Regulation.
ANNEX_IV_ITEMS: tuple[str, ...] = (
    *(f"1({letter})" for letter in "abcdefgh"),
    *(f"2({letter})" for letter in "abcdefgh"),
    *(str(n) for n in range(3, 10)),
)


class GovernanceFields(Frozen):
    """What auditor.yaml's `governance:` section may declare; every field is optional."""

    document_id: str | None = Field(None, description="The technical documentation's identifier")
    document_version: str | None = None
    provider: str | None = Field(None, description="Name (and address) of the provider, Annex IV 1(a)")
    system_name: str | None = None
    system_version: str | None = None
    previous_versions: str | None = Field(None, description="How this version relates to previous ones, 1(a)")
    risk_tier: RiskTier | None = Field(None, description="high-risk, limited, minimal or not-assessed")
    risk_tier_reference: str | None = Field(None, description="Why, e.g. 'Annex III point 5(b): creditworthiness'")
    interactions: str | None = Field(None, description="Hardware, software, other AI systems it interacts with, 1(b)")
    update_requirements: str | None = Field(None, description="Requirements related to version updates, 1(c)")
    market_forms: tuple[str, ...] = Field((), description="Forms placed on the market or put into service, 1(d)")
    deployment_hardware: str | None = Field(None, description="Hardware the system is intended to run on, 1(e)")
    product_integration: str | None = Field(None, description="Product it is a component of: illustrations, 1(f)")
    user_interface: str | None = Field(None, description="The user interface provided to the deployer, 1(g)")
    instructions_for_use: str | None = Field(None, description="Instructions for use: text or a document, 1(h)")
    architecture: str | None = Field(None, description="How the software components feed into each other, 2(c)")
    human_oversight: str | None = Field(None, description="Human-oversight measures (Art. 14), 2(e) and 3")
    predetermined_changes: str | None = Field(None, description="Pre-determined changes, 2(f)")
    cybersecurity: str | None = Field(None, description="Cybersecurity measures put in place, 2(h)")
    metrics_rationale: str | None = Field(None, description="Why the performance metrics are appropriate, 4")
    risk_management: str | None = Field(None, description="Summary of the risk-management system (Art. 9), 5")
    lifecycle_changes: str | None = Field(None, description="Relevant changes through the lifecycle, 6")
    standards: tuple[str, ...] = Field((), description="Harmonised standards and other specifications applied, 7")
    declaration_of_conformity: str | None = Field(None, description="Reference to the EU declaration (Art. 47), 8")
    post_market_monitoring: str | None = Field(None, description="Post-market monitoring plan (Art. 72), 9")
    not_applicable: dict[str, str] = Field(
        default_factory=dict, description="Annex IV items that do not apply, e.g. {'1(f)': 'not part of a product'}"
    )

    @field_validator("not_applicable", mode="before")
    @classmethod
    def _numbered_items_are_text(cls, value: object) -> object:
        """YAML reads the key `8:` as a number; Annex IV's item 8 is meant."""
        return {str(k) if isinstance(k, int) else k: v for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("not_applicable")
    @classmethod
    def _known_items(cls, value: dict[str, str]) -> dict[str, str]:
        for item, reason in value.items():
            if item not in ANNEX_IV_ITEMS:
                raise ValueError(f"{item!r} is not an Annex IV item (one of {', '.join(ANNEX_IV_ITEMS)})")
            if not reason.strip():
                raise ValueError(f"{item!r}: say why it does not apply")
        return value


class Governance(GovernanceFields):
    """The `governance:` section of auditor.yaml as it was when the run was captured."""

    state: Literal["declared"] = "declared"
