"""Refusals specific to publishing notices."""

from __future__ import annotations

from trading.errors import Conflict, DomainError, NotFound, RuleViolation


class NoticeNotFound(NotFound):
    code = "notice_not_found"

    def __init__(self) -> None:
        super().__init__("公告不存在", "No such notice")


class PublishedNoticeImmutable(Conflict):
    code = "notice_published_immutable"

    def __init__(self) -> None:
        super().__init__(
            "已发布的公告不可修改；如需变更，请发布变更/澄清公告",
            "A published notice cannot be edited; publish an amendment (变更/澄清公告) instead",
        )


class MissingFields(DomainError):
    status_code = 422
    code = "missing_fields"

    def __init__(self, names_zh: list[str], names_en: list[str], keys: list[str]) -> None:
        super().__init__(
            "公告缺少必备内容：" + "、".join(names_zh),
            "The notice lacks required content: " + ", ".join(names_en),
            details={"fields": keys},
        )


class WrongNoticeKind(DomainError):
    status_code = 422
    code = "wrong_notice_kind"


class TargetNotOpen(RuleViolation):
    code = "target_not_open"
