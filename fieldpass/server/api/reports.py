"""GET /v1/events/{id}/reports/attendance and /reports/petrol."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import send
from fieldpass.server.services import petrol_reports, reports


class AttendanceResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        send(resp, reports.attendance(self.engine, req.context.org_id, event_id))


class PetrolReportResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        send(resp, petrol_reports.petrol_report(self.engine, req.context.org_id, event_id))
