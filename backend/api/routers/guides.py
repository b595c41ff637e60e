"""`GET /v1/guides`: guides, branches and the labels the sidebar shows."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from backend.api.deps import CatalogDep, FieldMapDep, SettingsDep, require_agent
from backend.api.problems import document_problems
from backend.api.schemas import BranchInfo, FieldInfo, GuideInfo, GuidesResponse, LabelOut

router = APIRouter(tags=["guides"], dependencies=[Depends(require_agent)])


@router.get("/v1/guides", response_model=GuidesResponse, responses=document_problems(401, 500))
async def list_guides(
    settings: SettingsDep, catalog: CatalogDep, field_map: FieldMapDep
) -> GuidesResponse:
    """List guides, branches, field/block/notice labels and the field map."""
    guides = []
    for guide in catalog.guides.values():
        article_id = settings.article_ids.get(guide.id)
        article_url = (
            f"{settings.zendesk_url}/hc/{settings.help_center_locale}/articles/{article_id}"
            if article_id is not None
            else guide.source.article_url
        )
        guides.append(
            GuideInfo(
                id=guide.id,
                title=guide.title,
                article_url=article_url,
                branches=[
                    BranchInfo(
                        id=branch,
                        label=LabelOut(
                            ko=guide.branches[branch].label.ko, en=guide.branches[branch].label.en
                        ),
                    )
                    for branch in guide.branch_ids()
                ],
                fields=list(guide.fields),
            )
        )
    fields = {
        field.key: FieldInfo(
            type=field.type,
            label=LabelOut(ko=field.label_ko, en=field.label_en),
            options={code: LabelOut(ko=lab.ko, en=lab.en) for code, lab in field.options.items()},
            zendesk=field.zendesk,
        )
        for field in catalog.fields.fields()
    }
    labels = {
        kind: {
            ident: LabelOut(ko=label.ko, en=label.en)
            for ident, label in catalog.labels.get(kind, {}).items()
        }
        for kind in ("blocks", "notices")
    }
    return GuidesResponse(
        guides=guides,
        fields=fields,
        blocks=labels["blocks"],
        notices=labels["notices"],
        field_map=field_map or {},
    )
