"""Every database read the service makes, in one place.

Request-time reads go by primary key or an indexed foreign key (a test EXPLAINs each on
Postgres); filters never reach the database (``app.filtered``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from paperclip.schema import Caption, IndexVersion, Observation, Proposal


def active_index_version(session: Session) -> IndexVersion | None:
    stmt = select(IndexVersion).where(IndexVersion.active.is_(True)).order_by(IndexVersion.id.desc())
    return session.scalars(stmt.limit(1)).first()


def active_version_id(session: Session) -> int | None:
    """The active version's id; also what /ready uses to see that the database answers."""
    stmt = select(IndexVersion.id).where(IndexVersion.active.is_(True)).order_by(IndexVersion.id.desc())
    return session.scalar(stmt.limit(1))


def observations(session: Session, ids: Iterable[int]) -> dict[int, tuple[Observation, Proposal]]:
    ids = list(ids)
    if not ids:
        return {}
    stmt = (
        select(Observation, Proposal)
        .join(Proposal, Observation.proposal_pk == Proposal.id)
        .where(Observation.id.in_(ids))
    )
    return {o.id: (o, p) for o, p in session.execute(stmt)}


def observation(session: Session, observation_id: int) -> tuple[Observation, Proposal] | None:
    return observations(session, [observation_id]).get(observation_id)


def proposal(session: Session, proposal_pk: int) -> Proposal | None:
    return session.get(Proposal, proposal_pk)


def proposal_observations(session: Session, proposal_pk: int, limit: int = 200) -> list[Observation]:
    stmt = select(Observation).where(Observation.proposal_pk == proposal_pk).order_by(Observation.id)
    return list(session.scalars(stmt.limit(limit)))


def summaries(session: Session, proposal_pks: Iterable[int]) -> dict[int, str]:
    """Each proposal's newest good summary caption, an LLM one preferred over an extracted one."""
    pks = list(proposal_pks)
    if not pks:
        return {}
    stmt = (
        select(Caption.proposal_pk, Caption.generator, Caption.text)
        .where(Caption.proposal_pk.in_(pks), Caption.kind == "summary", Caption.status == "ok")
        .order_by(Caption.created_at, Caption.id)
    )
    best: dict[int, tuple[int, str]] = {}
    for pk, generator, caption in session.execute(stmt):
        rank = 1 if generator == "llm" else 0
        if caption and (pk not in best or rank >= best[pk][0]):
            best[pk] = (rank, caption)
    return {pk: caption for pk, (_, caption) in best.items()}


def find_observations(session: Session, ref: str) -> list[int]:
    """Ids of the observations ``ref`` names: an internal id, an obs_id in any case, a MAST obs_id
    (the stored product name less its suffix), or an HST dataset name (``jdxk01010``) inside the
    name of a visit's combined product. Every lookup uses an index but the last, tried only when
    the others find nothing."""
    from app.identifiers import dataset_visit, obs_id_candidates

    ref = ref.strip()
    if ref.isdigit():  # ids are 64-bit: a larger number names nothing (and must not reach the driver)
        if int(ref) < 2**63 and session.get(Observation, int(ref)) is not None:
            return [int(ref)]
        return []
    lower = func.lower(Observation.obs_id)
    ids = list(
        session.scalars(
            select(Observation.id).where(lower.in_(obs_id_candidates(ref))).order_by(Observation.id)
        )
    )
    if not ids and (visit := dataset_visit(ref)):
        pattern = f"%\\_{visit}\\_%"
        ids = list(
            session.scalars(
                select(Observation.id)
                .where(lower.like(pattern, escape="\\"))
                .order_by(Observation.id)
                .limit(50)
            )
        )
    return ids


def find_proposal(session: Session, ref: str) -> int | None:
    """A proposal's id from its number (HST first), ``COLLECTION:NUMBER``, or its database id."""
    collection, _, number = ref.strip().rpartition(":")
    stmt = select(Proposal.id, Proposal.collection).where(Proposal.proposal_id == number)
    if collection:
        stmt = stmt.where(func.upper(Proposal.collection) == collection.upper())
    rows = session.execute(stmt).all()
    if rows:
        return min(rows, key=lambda r: (r[1] != "HST", r[1]))[0]
    if not collection and number.isdigit() and int(number) < 2**31:
        return session.scalar(select(Proposal.id).where(Proposal.id == int(number)))
    return None


def target_positions(session: Session, names: list[str]) -> list[tuple[str, float, float]]:
    """(target, ra, dec) of observations whose target is one of ``names`` (lowercased)."""
    stmt = (
        select(Observation.target, Observation.ra, Observation.dec)
        .where(
            func.lower(Observation.target).in_(names),
            Observation.ra.is_not(None),
            Observation.dec.is_not(None),
        )
        .limit(5000)
    )
    return [(t, float(r), float(d)) for t, r, d in session.execute(stmt)]


def preview_path(session: Session, observation_id: int) -> str | None:
    return session.scalar(select(Observation.local_path).where(Observation.id == observation_id))


def activate_version(session: Session, version_id: int) -> bool:
    """Make ``version_id`` the only active version, if it exists and is ready."""
    row = session.get(IndexVersion, version_id)
    if row is None or row.status != "ready":
        return False
    session.execute(update(IndexVersion).where(IndexVersion.id != version_id).values(active=False))
    row.active = True
    return True
