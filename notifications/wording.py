"""What each kind of e-mail says, marked for the catalogue (events_service/locale).

Translated when a message is built, in the language its recipient registered in.
"""

from __future__ import annotations

from events_service.locale import N_
from notifications.outbox import Kind

# The subject line of each kind.
SUBJECTS: dict[Kind, str] = {
    Kind.REGISTRATION_CONFIRMED: N_("Your ticket: %(title)s"),
    Kind.REGISTRATION_PROMOTED: N_("A place freed up: your ticket for %(title)s"),
    Kind.REGISTRATION_WAITLISTED: N_("You are on the waitlist: %(title)s"),
    Kind.REGISTRATION_CANCELLED: N_("Registration cancelled: %(title)s"),
    Kind.EVENT_REMINDER: N_("Tomorrow: %(title)s"),
    Kind.EVENT_CHANGED: N_("Changed: %(title)s"),
    Kind.EVENT_CANCELLED: N_("Cancelled: %(title)s"),
    Kind.JUDGE_ASSIGNED: N_("Entries to judge: %(round)s"),
    Kind.JUDGE_REMINDER: N_("Reminder: sheets to submit for %(round)s"),
    Kind.ROUND_OPENING_SOON: N_("Scoring opens soon: %(round)s"),
    Kind.ROUND_CLOSING_SOON: N_("Scoring closes soon: %(round)s"),
    Kind.WINNER_PUBLISHED: N_("Congratulations: %(award)s"),
    Kind.REACH_MILESTONE: N_("Milestone: %(percent)s%% of the %(kpi)s target"),
    Kind.STAFF_SET_PASSWORD: N_("Choose your password for %(programme)s"),
    Kind.PERSON_DATA_LINK: N_("Your data at %(programme)s"),
}
# The first sentence of a ticket or registration notice, after the greeting.
INTROS: dict[Kind, str] = {
    Kind.REGISTRATION_CONFIRMED: N_("you are registered. Show the code below at the entrance."),
    Kind.REGISTRATION_PROMOTED: N_(
        "a place freed up and it is yours: you are now registered. "
        "Show the code below at the entrance."
    ),
    Kind.REGISTRATION_WAITLISTED: N_(
        "the event is full, so you are on the waitlist. "
        "We will e-mail you your ticket as soon as a place frees up."
    ),
    Kind.EVENT_REMINDER: N_("a reminder: the event starts soon. Your ticket is below."),
    Kind.EVENT_CHANGED: N_("the event's time or place has changed. The new details are below."),
    Kind.REGISTRATION_CANCELLED: N_("your registration for %(title)s is cancelled."),
    Kind.EVENT_CANCELLED: N_("we are sorry: %(title)s has been cancelled."),
}
# The sentence of a notice to a judge, a winner or an organiser.
NOTICES: dict[Kind, str] = {
    Kind.JUDGE_ASSIGNED: N_(
        "you have been assigned %(count)s entries to score in %(round)s (%(event)s)."
    ),
    Kind.JUDGE_REMINDER: N_(
        "a reminder from the organisers: %(count)s of your sheets for %(round)s (%(event)s) "
        "are not submitted yet. The deadline is %(closes)s."
    ),
    Kind.ROUND_OPENING_SOON: N_(
        "scoring for %(round)s (%(event)s) opens at %(opens)s. "
        "%(count)s entries are assigned to you."
    ),
    Kind.ROUND_CLOSING_SOON: N_(
        "scoring for %(round)s (%(event)s) closes at %(closes)s. "
        "%(count)s of your sheets are not submitted yet."
    ),
    Kind.WINNER_PUBLISHED: N_("%(entry)s has been awarded %(award)s (rank %(rank)s) at %(event)s."),
    Kind.REACH_MILESTONE: N_(
        "the programme has reached %(percent)s%% of its %(kpi)s target: %(value)s of %(target)s."
    ),
    Kind.STAFF_SET_PASSWORD: N_(
        "an organiser has opened a staff account for you, or reset its password. "
        "Choose your password with the link below. The link works once, "
        "for %(hours)s hours; if you did not expect this message, ignore it."
    ),
}
# The link under a notice.
LINK_LABELS: dict[Kind, str] = {
    Kind.JUDGE_ASSIGNED: N_("Open the judging page"),
    Kind.JUDGE_REMINDER: N_("Open the judging page"),
    Kind.ROUND_OPENING_SOON: N_("Open the judging page"),
    Kind.ROUND_CLOSING_SOON: N_("Open the judging page"),
    Kind.WINNER_PUBLISHED: N_("View the certificate"),
    Kind.REACH_MILESTONE: N_("Open the dashboard"),
    Kind.STAFF_SET_PASSWORD: N_("Choose a password"),
}
MANAGE_REGISTRATION = N_("View or cancel your registration")

# What each kind is called where organisers see messages (the console's outbox).
KIND_NAMES: dict[Kind, str] = {
    Kind.REGISTRATION_CONFIRMED: N_("Ticket: registered"),
    Kind.REGISTRATION_WAITLISTED: N_("Waitlisted"),
    Kind.REGISTRATION_PROMOTED: N_("Ticket: moved up from the waitlist"),
    Kind.REGISTRATION_CANCELLED: N_("Registration cancelled"),
    Kind.EVENT_CHANGED: N_("Event changed"),
    Kind.EVENT_CANCELLED: N_("Event cancelled"),
    Kind.EVENT_REMINDER: N_("Event reminder"),
    Kind.EVENT_ANNOUNCEMENT: N_("Message to attendees"),
    Kind.JUDGE_ASSIGNED: N_("Judge: entries assigned"),
    Kind.JUDGE_REMINDER: N_("Judge: reminder to submit sheets"),
    Kind.ROUND_OPENING_SOON: N_("Judge: scoring opens soon"),
    Kind.ROUND_CLOSING_SOON: N_("Judge: scoring closes soon"),
    Kind.WINNER_PUBLISHED: N_("Winner published"),
    Kind.REACH_MILESTONE: N_("Reach milestone"),
    Kind.STAFF_SET_PASSWORD: N_("Staff: set-password link"),
    Kind.PERSON_DATA_LINK: N_("Attendee: link to their data"),
}
