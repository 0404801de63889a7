"""Admin raffle endpoints up to sales: create, packages, prizes, configure, allocations,
and the transitions (activate, commit-seed, close, suspend, resume, cancel)."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, send
from fieldpass.server.services import raffle_allocations, raffles


class RafflesResource(Resource):
    bodies = {"POST": raffles.RaffleCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"raffles": raffles.list_raffles(self.engine, req.context.org_id)})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = decode_body(req, raffles.RaffleCreate)
        created = raffles.create_raffle(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            body,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )
        send(resp, created, 201)


class RaffleResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        send(resp, raffles.get_raffle(self.engine, req.context.org_id, raffle_id))


class RafflePackagesResource(Resource):
    bodies = {"POST": raffles.PackageCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        packages = raffles.list_packages(self.engine, req.context.org_id, raffle_id)
        send(resp, {"packages": packages})

    def on_post(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        body = decode_body(req, raffles.PackageCreate)
        created = raffles.add_package(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            body,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )
        send(resp, created, 201)


class RafflePrizesResource(Resource):
    bodies = {"POST": raffles.PrizeCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        send(resp, {"prizes": raffles.list_prizes(self.engine, req.context.org_id, raffle_id)})

    def on_post(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        body = decode_body(req, raffles.PrizeCreate)
        created = raffles.add_prize(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            body,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )
        send(resp, created, 201)


class RaffleAllocationsResource(Resource):
    bodies = {"POST": raffle_allocations.AllocationCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        allocations = raffle_allocations.list_allocations(
            self.engine, req.context.org_id, raffle_id
        )
        send(resp, {"allocations": allocations})

    def on_post(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        body = decode_body(req, raffle_allocations.AllocationCreate)
        created = raffle_allocations.allocate(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            body,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )
        send(resp, created, 201)


class RaffleDeallocateResource(Resource):
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, raffle_id: str, allocation_id: str
    ) -> None:
        send(
            resp,
            raffle_allocations.deallocate(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                raffle_id,
                allocation_id,
                now=req.context.received_at,
            ),
        )


class RaffleExceptionsResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        rows = raffles.list_exceptions(self.engine, req.context.org_id, raffle_id)
        send(resp, {"exceptions": rows})


class _Transition(Resource):
    """POST with no body (or a ``reason``) moving the raffle; answers the raffle view."""

    def act(self, req: falcon.Request, raffle_id: str) -> dict:
        raise NotImplementedError

    def on_post(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        send(resp, self.act(req, raffle_id))


class RaffleConfigureResource(_Transition):
    def act(self, req: falcon.Request, raffle_id: str) -> dict:
        return raffles.configure(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            now=req.context.received_at,
        )


class RaffleActivateResource(_Transition):
    def act(self, req: falcon.Request, raffle_id: str) -> dict:
        return raffles.activate(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            now=req.context.received_at,
        )


class RaffleCommitSeedResource(_Transition):
    def act(self, req: falcon.Request, raffle_id: str) -> dict:
        return raffles.commit_seed(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            key=self.config.pii_key,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )


class RaffleCloseResource(_Transition):
    def act(self, req: falcon.Request, raffle_id: str) -> dict:
        return raffles.close_sales(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            now=req.context.received_at,
        )


class RaffleSuspendResource(_Transition):
    bodies = {"POST": raffles.ReasonBody}

    def act(self, req: falcon.Request, raffle_id: str) -> dict:
        body = decode_body(req, raffles.ReasonBody)
        return raffles.suspend(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            body.reason,
            now=req.context.received_at,
        )


class RaffleResumeResource(_Transition):
    def act(self, req: falcon.Request, raffle_id: str) -> dict:
        return raffles.resume(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            now=req.context.received_at,
        )


class RaffleCancelResource(_Transition):
    bodies = {"POST": raffles.ReasonBody}

    def act(self, req: falcon.Request, raffle_id: str) -> dict:
        body = decode_body(req, raffles.ReasonBody)
        return raffles.cancel(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            raffle_id,
            body.reason,
            now=req.context.received_at,
        )
