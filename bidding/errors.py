"""Refusals of the sealed-bid side: each with a stable code and a message a bidder or opener can act on."""

from __future__ import annotations

from trading.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation


class SectionNotOpenForBids(RuleViolation):
    code = "section_not_open"


class DeadlinePassed(RuleViolation):
    """20号令 §27: after the deadline nothing is accepted, not by a millisecond."""

    code = "deadline_passed"

    def __init__(self, deadline: str) -> None:
        super().__init__(
            f"投标截止时间（{deadline}）已过，不再接收投标文件（《电子招标投标办法》第二十七条）",
            f"The bid deadline ({deadline}) has passed; nothing more is accepted "
            "(Electronic Bidding Measures, Art. 27)",
            rule="20号令 §27",
        )


class BadEnvelope(DomainError):
    status_code = 422
    code = "bad_envelope"


class NotYourBid(Forbidden):
    code = "not_your_bid"

    def __init__(self) -> None:
        super().__init__("这不是贵单位的投标", "This bid belongs to another bidder")


class UploadNotFound(NotFound):
    code = "upload_not_found"

    def __init__(self) -> None:
        super().__init__("上传会话不存在或已结束", "No such upload in progress")


class UploadConflict(Conflict):
    code = "upload_conflict"
