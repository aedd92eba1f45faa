"""Who may call each route — every authorisation rule of the platform, as data, in this one place.

A rule names, for each role that may call the route, how far that role reaches:

* ``ANY`` — the role is enough (a public read, an admin, a bidder beginning a bid anywhere);
* ``CENTRE`` — only on what belongs to the caller's own trading centre: the route's path names a section,
  project, notice, objection, complaint or alert, and its project's centre must be the caller's (staff and
  supervisors belong to a centre; trading.authorise resolves the path before the handler runs);
* ``PANEL`` — an evaluator drawn onto the evaluation panel of the section in the path;
* ``COMMITTEE`` — an opener on the opening committee of the section in the path;
* ``OWN`` — the handler acts on, and shows, the caller's own records only (its bid, its objections, its
  tokens, its letters);
* ``FILTERED`` — a listing narrowed to the caller's centre.

One route is for machines, not people: ``/metrics`` (``SCRAPERS``) answers the monitoring systems the settings
allow — by address (``metrics_allow``) or with the metrics bearer token (``metrics_token``) — whatever role the
caller may hold (docs/operations.md).

The guard (trading.authorise) enforces ANY, CENTRE, PANEL and COMMITTEE before a handler runs; OWN and
FILTERED are what the handlers themselves do, and the route × role test (tests/api/test_route_matrix.py)
checks them all, and fails on a route without a rule here.

Jurisdiction: staff and supervisors act within their own centre; the admin (系统管理员) anywhere. The expert
pool is the province's (省综合评标专家库), kept by named expert-pool keepers (专家库管理员), not by the
centres; the working-day calendar, which feeds every centre's periods, by the admin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple


class Scope(StrEnum):
    ANY = "any"
    CENTRE = "centre"
    PANEL = "panel"
    COMMITTEE = "committee"
    OWN = "own"
    FILTERED = "filtered"


ANY, CENTRE, PANEL, COMMITTEE, OWN, FILTERED = Scope


class Rule(NamedTuple):
    """Who may call a route: ``public``, or the roles that may, each with its reach."""

    roles: Mapping[str, Scope]
    public: bool = False
    #: For signed-in routes open to every role (their handler shows the caller's own things).
    signed_in: bool = False
    #: For the metrics: the scrapers the settings allow (trading.metrics.may_scrape), no one else.
    scrapers: bool = False


PUBLIC = Rule(roles={}, public=True)
SIGNED_IN = Rule(roles={}, signed_in=True)
SCRAPERS = Rule(roles={}, scrapers=True)


def rule(**roles: Scope) -> Rule:
    return Rule(roles=roles)


ADMIN = rule(admin=ANY)
STAFF_OF_CENTRE = rule(staff=CENTRE, admin=ANY)
STAFF_OR_SUPERVISOR_OF_CENTRE = rule(staff=CENTRE, supervisor=CENTRE, admin=ANY)
BIDDER_OWN = rule(bidder=OWN)
EVALUATOR_ON_PANEL = rule(evaluator=PANEL)
OPENER_ON_COMMITTEE = rule(opener=COMMITTEE)
EXPERT_POOL = rule(expert_keeper=ANY, admin=ANY)

#: operation_id (or, for the framework's own routes, the path) → rule.
ROUTES: dict[str, Rule] = {
    # --- the public portal, feeds, the log and the API documents --------------------------------
    "health": PUBLIC,
    "ready": PUBLIC,
    "getMetrics": SCRAPERS,
    "portalHome": PUBLIC,
    "portalAbout": PUBLIC,
    "portalNotices": PUBLIC,
    "portalNotice": PUBLIC,
    "portalNoticePrint": PUBLIC,
    "portalProject": PUBLIC,
    "portalProjectFunds": PUBLIC,
    "portalProjectFundsChart": PUBLIC,
    "portalRegions": PUBLIC,
    "portalRegion": PUBLIC,
    "portalFunds": PUBLIC,
    "portalFundsChart": PUBLIC,
    "portalLog": PUBLIC,
    "portalOpeningHall": PUBLIC,
    "portalLoginForm": PUBLIC,
    "portalLogin": PUBLIC,
    "portalLogout": PUBLIC,
    # The page checks the session and its CSRF token itself, and shows the sign-in page to the public.
    "portalStartOpening": PUBLIC,
    "portalAudit": rule(supervisor=FILTERED, admin=ANY),
    "portalAlerts": rule(supervisor=FILTERED, admin=ANY),
    "portalAcknowledgeAlert": rule(supervisor=CENTRE),
    "portalRuleOnDisputedBid": rule(supervisor=CENTRE),
    "portalAccount": SIGNED_IN,
    "portalCreateToken": SIGNED_IN,
    "portalRevokeToken": SIGNED_IN,
    "feedAll": PUBLIC,
    "feedByKind": PUBLIC,
    "feedByRegion": PUBLIC,
    "getCheckpoint": PUBLIC,
    "getCheckpointAtSize": PUBLIC,
    "getLogKey": PUBLIC,
    "getLogInfo": PUBLIC,
    "getDeadlineCut": PUBLIC,
    "getWitnessedCheckpoint": PUBLIC,
    "listLogEntries": PUBLIC,
    "getInclusionProof": PUBLIC,
    "getConsistencyProof": PUBLIC,
    # A witness's cosignature is accepted only if a configured witness key made it.
    "addCosignature": PUBLIC,
    "/schema": PUBLIC,
    "/schema/openapi.json": PUBLIC,
    "/schema/swagger": PUBLIC,
    "/schema/{path}": PUBLIC,
    "/static/{file_path}": PUBLIC,
    "/api-explorer/assets/{file_path}": PUBLIC,
    # --- public data ---------------------------------------------------------------------------
    "listNotices": PUBLIC,
    "getNotice": PUBLIC,
    "getNoticeVersionDocument": PUBLIC,
    "downloadNoticeAttachment": PUBLIC,
    "listChanges": PUBLIC,
    "listProcedures": PUBLIC,
    "getProcedure": PUBLIC,
    "listCalendarDays": PUBLIC,
    "listCalendarYears": PUBLIC,
    "listCentres": PUBLIC,
    # Published projects for everyone; drafts for the staff and supervisors of their centre (FILTERED).
    "listProjects": PUBLIC,
    "getProject": PUBLIC,
    "getProjectFunds": PUBLIC,
    "getProjectPaymentsCsv": PUBLIC,
    "getFundsSummary": PUBLIC,
    "getFundsSummaryCsv": PUBLIC,
    "ocdsReleasePackage": PUBLIC,
    "ocdsRecordPackage": PUBLIC,
    "getSectionBidding": PUBLIC,
    "getOpening": PUBLIC,
    "openingEvents": PUBLIC,
    "getOpenedBidManifest": PUBLIC,
    "getOpenedBidPriceCiphertext": PUBLIC,
    "getEvaluationPlan": PUBLIC,
    "getExpertDraw": PUBLIC,
    "getCandidatePublicity": PUBLIC,
    "getContract": PUBLIC,
    # --- accounts ------------------------------------------------------------------------------
    "createToken": PUBLIC,  # signing in (rate-limited)
    "listTokens": SIGNED_IN,
    "revokeToken": SIGNED_IN,
    "getMe": SIGNED_IN,
    "createCentre": ADMIN,
    "createPerson": ADMIN,
    "listPeople": ADMIN,
    # The register of organisations is the province's: any centre's staff may add a bidder or tenderer.
    "createOrganisation": rule(staff=ANY, admin=ANY),
    "listOrganisations": rule(staff=ANY, supervisor=ANY, admin=ANY),
    "getOrganisation": rule(staff=ANY, supervisor=ANY, admin=ANY),
    "setCalendarDay": ADMIN,
    "listAuditEntries": rule(supervisor=FILTERED, admin=ANY),
    # --- projects and notices ------------------------------------------------------------------
    "createProject": rule(staff=OWN, admin=ANY),  # in the caller's own centre
    "createNoticeDraft": rule(staff=OWN, admin=ANY),  # for a project of the caller's centre
    "listNoticeDrafts": rule(staff=FILTERED, admin=ANY),
    "getNoticeDraft": STAFF_OF_CENTRE,
    "updateNoticeDraft": STAFF_OF_CENTRE,
    "uploadNoticeAttachment": STAFF_OF_CENTRE,
    "setCommittee": STAFF_OF_CENTRE,
    "publishNotice": STAFF_OF_CENTRE,
    # --- keys ----------------------------------------------------------------------------------
    "listBidderKeys": BIDDER_OWN,
    "registerBidderKey": BIDDER_OWN,
    "revokeBidderKey": BIDDER_OWN,
    "revokeCentreKey": rule(staff=OWN, admin=ANY),
    "listDirectoryBidderKeys": PUBLIC,
    "listDirectoryCentreKeys": PUBLIC,
    "listCentreKeys": rule(staff=FILTERED, admin=ANY),
    "registerCentreKey": rule(staff=OWN, admin=ANY),
    "listOpenerKeys": rule(staff=ANY, admin=ANY, opener=ANY),  # public keys, for choosing a committee
    "registerOpenerKey": rule(opener=OWN),
    # --- sealed bids and the opening -----------------------------------------------------------
    "beginBidSubmission": rule(bidder=ANY),
    "submitSealedBidFile": rule(bidder=ANY),
    "getUpload": BIDDER_OWN,
    "uploadCiphertext": BIDDER_OWN,
    "completeUpload": BIDDER_OWN,
    "getMyBid": BIDDER_OWN,
    "withdrawMyBid": BIDDER_OWN,
    "listReservePrices": STAFF_OR_SUPERVISOR_OF_CENTRE,
    "submitReservePrice": STAFF_OF_CENTRE,
    "startOpening": STAFF_OF_CENTRE,
    "getMySealedShares": OPENER_ON_COMMITTEE,
    "uploadShares": OPENER_ON_COMMITTEE,
    "ruleOnDisputedBid": rule(supervisor=CENTRE),
    # --- the expert pool and the draw ----------------------------------------------------------
    "createExpert": EXPERT_POOL,
    "updateExpert": EXPERT_POOL,
    "listExperts": EXPERT_POOL,
    "commitExpertDraw": STAFF_OF_CENTRE,
    "runExpertDraw": STAFF_OF_CENTRE,
    "declareConflict": rule(evaluator=OWN),  # an expert in the section's pool, for themselves
    "getExpertPanel": STAFF_OR_SUPERVISOR_OF_CENTRE,
    # --- the evaluation ------------------------------------------------------------------------
    "setEvaluationPlan": STAFF_OF_CENTRE,
    "listBidsUnderEvaluation": EVALUATOR_ON_PANEL,
    "readBidDocuments": EVALUATOR_ON_PANEL,
    "getBidDocumentsIndex": EVALUATOR_ON_PANEL,
    "getMyScoreSheet": EVALUATOR_ON_PANEL,
    "saveScoreSheet": EVALUATOR_ON_PANEL,
    "listDocumentReads": STAFF_OR_SUPERVISOR_OF_CENTRE,
    "getEvaluationReport": rule(staff=CENTRE, supervisor=CENTRE, admin=ANY, evaluator=PANEL),
    "makeEvaluationReport": STAFF_OF_CENTRE,
    # --- candidates, objections, complaints, the award -----------------------------------------
    "publishCandidates": STAFF_OF_CENTRE,
    "fileObjection": BIDDER_OWN,  # a bidder of the section
    "listObjections": rule(staff=CENTRE, supervisor=CENTRE, admin=ANY, bidder=OWN),
    "replyToObjection": STAFF_OF_CENTRE,
    "fileComplaint": BIDDER_OWN,
    "listComplaints": rule(staff=CENTRE, supervisor=CENTRE, admin=ANY, bidder=OWN),
    "decideComplaint": rule(supervisor=CENTRE),
    "ruleOnComplaint": rule(supervisor=CENTRE),
    "publishResult": STAFF_OF_CENTRE,
    "getMyResultLetter": BIDDER_OWN,
    "listMyLetters": BIDDER_OWN,
    # --- contracts, payments, supervision ------------------------------------------------------
    "recordContract": STAFF_OF_CENTRE,
    "recordPayment": STAFF_OF_CENTRE,
    "listAlerts": rule(supervisor=FILTERED, admin=ANY),
    "acknowledgeAlert": rule(supervisor=CENTRE),
}


def rule_for(operation_id: str | None, paths: set[str] | frozenset[str]) -> Rule | None:
    """The rule of a route, by its operation id or (for the framework's own routes) its path template, with
    or without the parameters' types (``/static/{file_path}`` or ``/static/{file_path:path}``)."""
    if operation_id and operation_id in ROUTES:
        return ROUTES[operation_id]
    return next((ROUTES[p] for p in sorted(untyped(p) for p in paths) if p in ROUTES), None)


def untyped(path: str) -> str:
    """A path template without its parameters' types."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
