"""HTTP API for the evaluation after the draw: the plan, the evaluators' score sheets, the report, the
candidate publicity with its objections and complaints, the award and the bidders' letters."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody

from evaluation import award, plans, publicity, reports, schemas, sheets
from trading.web import DB, make_act, request_actor


class EvaluationPlanController(Controller):
    path = "/api/sections/{section_id:int}/evaluation-plan"
    tags = ["evaluation"]

    @put("/", operation_id="setEvaluationPlan")
    async def set_plan(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.PlanIn]
    ) -> dict[str, Any]:
        """Before the bid deadline: the evaluation method and its weights, as the tender documents state them."""
        return plans.read(await plans.set_plan(db, await make_act(request, db), section_id, data))

    @get("/", operation_id="getEvaluationPlan")
    async def view(self, request: Request, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """The section's evaluation plan (public, like the tender documents, once the section is published)."""
        return plans.read(await plans.public_plan(db, section_id, request_actor(request)))


class EvaluationController(Controller):
    path = "/api/sections/{section_id:int}/evaluation"
    tags = ["evaluation"]

    @get("/sheet", operation_id="getMyScoreSheet")
    async def my_sheet(self, request: Request, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """An evaluator's own sheet, with the bids to evaluate and the plan."""
        return await sheets.mine(db, await make_act(request, db), section_id)

    @put("/sheet", operation_id="saveScoreSheet")
    async def save_sheet(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.SheetIn]
    ) -> dict[str, Any]:
        """Save the sheet (qualify or reject each bid, score it); ``submit: true`` signs it off for good."""
        act = await make_act(request, db)
        await sheets.save(db, act, section_id, data)
        return await sheets.mine(db, act, section_id)

    @post("/report", operation_id="makeEvaluationReport")
    async def make_report(self, request: Request, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """Once every evaluator has submitted: compile, log and keep the report (void if under 3 qualify)."""
        act = await make_act(request, db)
        await reports.make(db, act, section_id)
        return await reports.view(db, act, section_id)

    @get(
        "/report",
        operation_id="getEvaluationReport",
    )
    async def report(self, request: Request, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """The report: the centre's staff, supervisors and the section's own panel only."""
        return await reports.view(db, await make_act(request, db), section_id)


class PublicityController(Controller):
    path = "/api/sections/{section_id:int}"
    tags = ["evaluation"]

    @post("/candidate-publicity", operation_id="publishCandidates")
    async def publish(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.PublicityIn]
    ) -> dict[str, Any]:
        """Publish the report's candidates (at most 3, ranked) for at least 3 days."""
        await publicity.publish_candidates(db, await make_act(request, db), section_id, data)
        return await publicity.publicity_view(db, section_id)

    @get("/candidate-publicity", operation_id="getCandidatePublicity")
    async def view(self, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """The publicity window (lengthened by pauses), whether the trade is paused, and the objections' replies."""
        return await publicity.publicity_view(db, section_id)

    @post("/objections", operation_id="fileObjection")
    async def object(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.ObjectionIn]
    ) -> dict[str, Any]:
        """A bidder objects during the publicity: the trade pauses until staff reply."""
        act = await make_act(request, db)
        objection = await publicity.file_objection(db, act, section_id, data)
        return {"id": objection.id, "reply_due_at": objection.reply_due_at.isoformat()}

    @get("/objections", operation_id="listObjections")
    async def objections(self, request: Request, db: DB, section_id: FromPath[int]) -> list[dict[str, Any]]:
        """Staff and supervisors: every objection; a bidder: its own."""
        return await publicity.objections_for(db, await make_act(request, db), section_id)

    @post("/complaints", operation_id="fileComplaint")
    async def complain(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.ComplaintIn]
    ) -> dict[str, Any]:
        """A bidder complains to the supervisors after its objection (within 10 days of the reply)."""
        return publicity.complaint_read(
            await publicity.file_complaint(db, await make_act(request, db), section_id, data)
        )

    @get("/complaints", operation_id="listComplaints")
    async def complaints(self, request: Request, db: DB, section_id: FromPath[int]) -> list[dict[str, Any]]:
        """Supervisors and staff: every complaint; a bidder: its own."""
        return await publicity.complaints_for(db, await make_act(request, db), section_id)

    @post("/award", operation_id="publishResult")
    async def award(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.AwardIn]
    ) -> dict[str, Any]:
        """After the publicity: confirm the winner, publish the result notice, reveal the draw, issue the letters."""
        return await award.publish_result(db, await make_act(request, db), section_id, data)

    @get("/my-letter", operation_id="getMyResultLetter")
    async def my_letter(self, request: Request, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """A bidder's own award or result letter for this section, with its score and rank."""
        return await award.my_letter(db, await make_act(request, db), section_id)


class ObjectionReplyController(Controller):
    path = "/api/objections"
    tags = ["evaluation"]

    @post("/{objection_id:int}/reply", operation_id="replyToObjection", status_code=200)
    async def reply(
        self, request: Request, db: DB, objection_id: FromPath[int], data: JSONBody[schemas.ObjectionReplyIn]
    ) -> dict[str, Any]:
        """Reply (within 3 days): the reply is published without the objector; the trade resumes."""
        objection = await publicity.reply_objection(db, await make_act(request, db), objection_id, data)
        return {"id": objection.id, "outcome": objection.outcome, "reply_notice_id": objection.reply_notice_id}


class ComplaintController(Controller):
    path = "/api/complaints"
    tags = ["evaluation"]

    @post("/{complaint_id:int}/decision", operation_id="decideComplaint", status_code=200)
    async def decide(
        self, request: Request, db: DB, complaint_id: FromPath[int], data: JSONBody[schemas.ComplaintDecisionIn]
    ) -> dict[str, Any]:
        """Accept or reject a complaint (within 3 working days), suspending the trade if need be."""
        return publicity.complaint_read(
            await publicity.decide_complaint(db, await make_act(request, db), complaint_id, data)
        )

    @post("/{complaint_id:int}/ruling", operation_id="ruleOnComplaint", status_code=200)
    async def rule(
        self, request: Request, db: DB, complaint_id: FromPath[int], data: JSONBody[schemas.ComplaintRulingIn]
    ) -> dict[str, Any]:
        """Rule on an accepted complaint (within 30 working days); a suspended trade resumes."""
        return publicity.complaint_read(
            await publicity.rule_complaint(db, await make_act(request, db), complaint_id, data)
        )


class LetterController(Controller):
    path = "/api/my/letters"
    tags = ["evaluation"]

    @get("/", operation_id="listMyLetters")
    async def letters(self, request: Request, db: DB) -> list[dict[str, Any]]:
        """The award and result letters addressed to the bidder's own organisation."""
        return await award.my_letters(db, await make_act(request, db))


CONTROLLERS = [
    EvaluationPlanController,
    EvaluationController,
    PublicityController,
    ObjectionReplyController,
    ComplaintController,
    LetterController,
]
