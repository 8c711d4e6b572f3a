"""Demo data for a first look: a programme, a summit, a competition and three accounts,
and a forum happening now, with people registered, waitlisted and admitted at two gates.

The competition's first round has two awards and is open: the three demo judges are assigned by the
real balanced assignment (judging.judges.assign), the round opened with
judging.rounds.open_round, and the other judges' first sheets submitted with
judging.sheets.save_sheet; the demo judge's sheets are left for them to score.

The forum's registrations and admissions go through the real services
(registration.service.register, checkin.service.scan with signed ticket codes), so
the seats, the waitlist, the reach tallies and the outbox are as the API leaves them.

Seeding is idempotent: running it again keeps the data and resets the demo
accounts' passwords to the printed ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from tortoise import timezone
from tortoise.transactions import in_transaction

from events_service.auth.passwords import hash_password
from events_service.auth.service import end_sessions
from events_service.checkin.codes import issue_code
from events_service.checkin.service import ScanRequest, scan
from events_service.identity import organisation_key
from events_service.judging.awards import create_award
from events_service.judging.judges import assign
from events_service.judging.rounds import open_round
from events_service.judging.schemas import AwardIn, ScoreIn
from events_service.judging.sheets import save_sheet
from events_service.reach.counter import benefit_organisation
from events_service.registration.forms import RegistrationForm, clean_registration
from events_service.registration.service import register
from events_service.settings import Settings
from models import (
    Admission,
    Award,
    Criterion,
    Entry,
    Event,
    FinancingRecord,
    JudgeAssignment,
    Organisation,
    Programme,
    Registration,
    RegistrationLink,
    Round,
    RoundEntry,
    ServiceRecord,
    StaffUser,
)
from models.enums import (
    EventKind,
    EventStatus,
    FinancingKind,
    OrganisationKind,
    RegistrationStatus,
    RoundStatus,
    ScanVerdict,
)

DEMO_ACCOUNTS = (
    ("admin@demo.example.org", "demo-admin-password", ["admin"], "Demo Organiser"),
    ("staff@demo.example.org", "demo-staff-password", ["staff"], "Demo Door Staff"),
    ("judge@demo.example.org", "demo-judge-password", ["judge"], "Demo Judge"),
    ("judge2@demo.example.org", "demo-judge2-password", ["judge"], "Demo Judge Two"),
    ("judge3@demo.example.org", "demo-judge3-password", ["judge"], "Demo Judge Three"),
)
DEMO_JUDGE_EMAILS = tuple(email for email, _, roles, _ in DEMO_ACCOUNTS if roles == ["judge"])
COMPETITION_TITLE = "Smart Mobility Challenge 2026"
# The other judges' sheets already in when the demo starts: (judge email, how many).
DEMO_SUBMITTED = (("judge2@demo.example.org", 2), ("judge3@demo.example.org", 1))
DEMO_AWARDS = (("Gold award", 1, 1), ("Incubation place", 2, 3))
# Scores per criterion (by position), varied per sheet so the ranking has spread.
_DEMO_SCORES = ((7.5, 6.0, 8.0), (6.0, 8.5, 5.5), (9.0, 7.0, 6.5), (5.0, 6.5, 7.0))

DEMO_ENTRIES = (
    ("Edge-AI driver fatigue monitor", "VisionDrive", "startup"),
    ("V2X traffic-light timing service", "RoadLink Tech", "company"),
    ("Battery health passport", "CellTrace", "startup"),
    ("Open HD map updates from fleets", "MapFleet Lab", "institution"),
)

DEMO_FINANCINGS = (
    ("VisionDrive", "Auto Valley Venture Fund", FinancingKind.EQUITY, "3000000"),
    ("CellTrace", "City Science & Technology Bank", FinancingKind.LOAN, "1200000"),
)
DEMO_SERVICES = (
    ("RoadLink Tech", "cloud resources"),
    ("RoadLink Tech", "supply-chain access"),
    ("Sino Parts Co.", "training"),
)

# The forum happening now: a full house with a waitlist, people arriving at two gates.
NOW_EVENT_TITLE = "Intelligent Connected Vehicles Forum"
NOW_EVENT_CAPACITY = 40
NOW_EVENT_WAITLISTED = 4
NOW_EVENT_ADMITTED = 26
NOW_EVENT_GATES = ("Gate A", "Gate B")
_SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu")
_GIVEN_NAMES = ("Wei", "Fang", "Jing", "Lei")
_ATTENDEE_ORGANISATIONS = (
    ("VisionDrive", "Perception engineer"),
    ("RoadLink Tech", "Product manager"),
    ("Sino Parts Co.", "Purchasing lead"),
    ("Auto Valley Motors", "Chief engineer"),
    ("CellTrace", "Founder"),
    (None, None),
)


@dataclass(frozen=True)
class NowEventFigures:
    """The forum happening now, as the demo left it (or finds it on a second run)."""

    event_id: int
    title: str
    confirmed: int
    waitlisted: int
    admitted: int
    gates: list[str]
    in_progress: bool


@dataclass
class DemoSummary:
    created: bool
    accounts: list[tuple[str, str, list[str]]] = field(default_factory=list)
    events: list[tuple[int, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    happening_now: NowEventFigures | None = None


def new_link_slug() -> str:
    """An unguessable slug: 96 random bits, URL-safe."""
    return secrets.token_urlsafe(12)


async def seed_demo(settings: Settings) -> DemoSummary:
    accounts = []
    for email, password, roles, name in DEMO_ACCOUNTS:
        password_hash = await hash_password(password)
        user, made = await StaffUser.get_or_create(
            email=email,
            defaults={"password_hash": password_hash, "roles": roles, "name": name},
        )
        if not made:
            user.password_hash, user.roles, user.active = password_hash, roles, True
            await user.save()
            await end_sessions(user)  # a reset password ends the old sessions
        accounts.append((email, password, roles))

    existing = await Programme.get_or_none(name=settings.programme_name)
    if existing is not None:
        events = await Event.filter(programme=existing).order_by("id")
        links = await RegistrationLink.filter(event__programme=existing).order_by("id")
        forum = next((e for e in events if e.title == NOW_EVENT_TITLE), None)
        contest = next((e for e in events if e.title == COMPETITION_TITLE), None)
        if contest is not None:
            await fill_competition(contest.id)  # only a database seeded before it was added
        return DemoSummary(
            created=False,
            accounts=accounts,
            events=[(e.id, e.title) for e in events],
            links=[(lk.label, lk.slug) for lk in links],
            happening_now=await now_event_figures(forum) if forum else None,
        )

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    # The forum is in progress at seed time: its times are not rounded to the hour.
    this_minute = timezone.now().replace(second=0, microsecond=0)
    async with in_transaction() as conn:
        programme = await Programme.create(
            name=settings.programme_name,
            start_date=settings.programme_start,
            target_talents=settings.targets.talents,
            target_firms=settings.targets.firms,
            target_companies=settings.targets.companies,
            target_projects=settings.targets.projects,
            target_financed_startups=settings.targets.financed_startups,
        )
        summit = await Event.create(
            programme=programme,
            kind=EventKind.SUMMIT,
            title="Internet + Auto Summit 2026",
            description="Connected vehicles, autonomous driving and the supply chain behind them.",
            venue="Innovation Base, Hall A",
            timezone="Asia/Shanghai",
            starts_at=now + timedelta(days=14),
            ends_at=now + timedelta(days=14, hours=8),
            capacity=300,
            waitlist_enabled=True,
            registration_opens_at=now - timedelta(days=1),
            registration_closes_at=now + timedelta(days=13),
            status=EventStatus.PUBLISHED,
        )
        links = [
            await RegistrationLink.create(event=summit, slug=new_link_slug(), label=label, quota=q)
            for label, q in (("WeChat group A", None), ("Poster, hall 2", 50))
        ]
        competition = await Event.create(
            programme=programme,
            kind=EventKind.COMPETITION,
            title=COMPETITION_TITLE,
            description="Startups and teams pitch technical projects for the base's support.",
            venue="Innovation Base, Hall B",
            timezone="Asia/Shanghai",
            starts_at=now + timedelta(days=30),
            ends_at=now + timedelta(days=31),
            capacity=None,
            status=EventStatus.PUBLISHED,
        )
        preliminary = await Round.create(
            event=competition,
            name="Preliminary",
            position=1,
            judges_per_entry=2,
            status=RoundStatus.DRAFT,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=21),
        )
        criteria = []
        for position, (name, description, weight) in enumerate(
            (
                ("Innovation", "How new is the idea against the state of the art?", "0.4"),
                ("Feasibility", "Can the team build and ship it in 12 months?", "0.35"),
                ("Market", "How large and reachable is the market?", "0.25"),
            ),
            start=1,
        ):
            criterion = await Criterion.create(
                round=preliminary,
                name=name,
                description=description,
                weight=Decimal(weight),
                scale_min=Decimal(0),
                scale_max=Decimal(10),
                scale_step=Decimal("0.5"),
                position=position,
            )
            criteria.append(criterion)
        # Ties go to innovation, then feasibility, then the earliest entry (ranking rules).
        preliminary.tie_break = [f"criterion:{c.id}" for c in criteria[:2]] + ["earliest"]
        await preliminary.save()
        for title, team, kind in DEMO_ENTRIES:
            organisation, _ = await Organisation.get_or_create(
                name_key=organisation_key(team),
                defaults={"name": team, "kind": OrganisationKind(kind)},
            )
            entry = await Entry.create(
                event=competition,
                title=title,
                team_name=team,
                organisation=organisation,
                track="mobility",
            )
            await RoundEntry.create(round=preliminary, entry=entry)
            # Entries make their organisations "benefitted", as through the API.
            await benefit_organisation(conn, organisation.id, entry.created_at)
        today = date.today()
        for name, partner, kind, amount in DEMO_FINANCINGS:
            organisation, _ = await Organisation.get_or_create(
                name_key=organisation_key(name),
                defaults={"name": name, "kind": OrganisationKind.STARTUP},
            )
            await FinancingRecord.create(
                organisation=organisation,
                partner=partner,
                kind=kind,
                amount=Decimal(amount),
                financed_on=today - timedelta(days=20),
            )
        for name, service_kind in DEMO_SERVICES:
            organisation, _ = await Organisation.get_or_create(
                name_key=organisation_key(name), defaults={"name": name}
            )
            await ServiceRecord.create(
                organisation=organisation, service_kind=service_kind, served_on=today
            )
        forum = await Event.create(
            programme=programme,
            kind=EventKind.SUMMIT,
            title=NOW_EVENT_TITLE,
            description="Sensors, chips and software for connected cars: talks and a parts fair.",
            venue="Innovation Base, Hall C",
            timezone="Asia/Shanghai",
            starts_at=this_minute - timedelta(hours=1),
            ends_at=this_minute + timedelta(hours=5),
            capacity=NOW_EVENT_CAPACITY,
            waitlist_enabled=True,
            registration_opens_at=this_minute - timedelta(days=7),
            status=EventStatus.PUBLISHED,
        )
        forum_link = await RegistrationLink.create(
            event=forum, slug=new_link_slug(), label="Forum lobby QR"
        )
        links.append(forum_link)

    # Committed first: the services below take their own transactions and connections.
    staff = await StaffUser.get(email=DEMO_ACCOUNTS[1][0])
    await fill_now_event(settings, forum, forum_link.slug, staff.id)
    await fill_competition(competition.id)
    return DemoSummary(
        created=True,
        accounts=accounts,
        events=[(e.id, e.title) for e in (summit, competition, forum)],
        links=[(lk.label, lk.slug) for lk in links],
        happening_now=await now_event_figures(forum),
    )


async def fill_now_event(settings: Settings, forum: Event, slug: str, staff_id: int) -> None:
    """Register a full house and a waitlist through the link, then admit some of them
    at two gates by scanning their signed ticket codes, arrivals spread over the last
    hour and a quarter (as an offline scanner would send them, with their scan time)."""
    people = [(surname, given) for given in _GIVEN_NAMES for surname in _SURNAMES]
    confirmed = []
    for n, (surname, given) in enumerate(people[: NOW_EVENT_CAPACITY + NOW_EVENT_WAITLISTED]):
        organisation, job_title = _ATTENDEE_ORGANISATIONS[n % len(_ATTENDEE_ORGANISATIONS)]
        form = clean_registration(
            RegistrationForm(
                name=f"{given} {surname}",
                email=f"{given}.{surname}.{n:02}@demo.example.org".lower(),
                consent=True,
                organisation=organisation,
                job_title=job_title,
                locale="zh-Hans" if n % 3 else "en",
            ),
            default_locale=settings.default_locale,
        )
        ticket = (await register(slug, form)).ticket
        if ticket.status == RegistrationStatus.CONFIRMED:
            confirmed.append(ticket.registration_id)

    now = timezone.now()
    first_arrival = forum.starts_at - timedelta(minutes=15)
    spacing = (now - timedelta(minutes=1) - first_arrival) / NOW_EVENT_ADMITTED
    for n, registration_id in enumerate(confirmed[:NOW_EVENT_ADMITTED]):
        result = await scan(
            ScanRequest(
                event_id=forum.id,
                gate=NOW_EVENT_GATES[n % len(NOW_EVENT_GATES)],
                staff_id=staff_id,
                code=issue_code(settings.signing_key, registration_id, forum.id),
                scan_id=f"demo-{forum.id}-{registration_id:06}",
                scanned_at=first_arrival + spacing * n,
            ),
            settings.signing_key,
        )
        if result.verdict != ScanVerdict.ADMITTED:
            raise RuntimeError(f"demo admission refused: {result.message}")


async def fill_competition(event_id: int) -> None:
    """Assign the demo judges to the first round, open it, and submit some of the other
    judges' sheets, all through the judging services. Only a draft round without
    assignments is filled: a second run (or a round an organiser changed) is left alone."""
    first = await Round.filter(event_id=event_id).order_by("position").first()
    if first is None or first.status != RoundStatus.DRAFT:
        return
    if await JudgeAssignment.filter(round_id=first.id).exists():
        return
    if not await Award.filter(round_id=first.id).exists():
        for name, rank_from, rank_to in DEMO_AWARDS:
            await create_award(first.id, AwardIn(name=name, rank_from=rank_from, rank_to=rank_to))
    judges = {u.email: u.id for u in await StaffUser.filter(email__in=DEMO_JUDGE_EMAILS)}
    await assign(first.id, seed=2026, judge_ids=[judges[e] for e in DEMO_JUDGE_EMAILS])
    await open_round(first.id)
    criteria = await Criterion.filter(round_id=first.id).order_by("position", "id")
    n = 0
    for email, count in DEMO_SUBMITTED:
        sheets = await JudgeAssignment.filter(round_id=first.id, judge_id=judges[email]).order_by(
            "entry_id"
        )
        for assignment in sheets[:count]:
            values = _DEMO_SCORES[n % len(_DEMO_SCORES)]
            n += 1
            scores = [
                ScoreIn(criterion_id=c.id, value=values[i % len(values)])
                for i, c in enumerate(criteria)
            ]
            await save_sheet(assignment.id, judges[email], scores, submit=True)


async def now_event_figures(forum: Event) -> NowEventFigures:
    registrations = Registration.filter(event_id=forum.id)
    admissions = Admission.filter(event_id=forum.id)
    gates = await admissions.distinct().order_by("gate").values_list("gate", flat=True)
    return NowEventFigures(
        event_id=forum.id,
        title=forum.title,
        confirmed=await registrations.filter(status=RegistrationStatus.CONFIRMED).count(),
        waitlisted=await registrations.filter(status=RegistrationStatus.WAITLISTED).count(),
        admitted=await admissions.count(),
        gates=list(gates),
        in_progress=forum.starts_at <= timezone.now() < forum.ends_at,
    )
