"""The words of every e-mail, in English and Simplified Chinese."""

from __future__ import annotations

from collections.abc import Callable

EMAIL_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subject.registration.confirmed": "Your ticket: {title}",
        "subject.registration.promoted": "A place freed up: your ticket for {title}",
        "subject.registration.waitlisted": "You are on the waitlist: {title}",
        "subject.registration.cancelled": "Registration cancelled: {title}",
        "subject.event.reminder": "Tomorrow: {title}",
        "subject.event.changed": "Changed: {title}",
        "subject.event.cancelled": "Cancelled: {title}",
        "subject.judge.assigned": "Entries to judge: {round}",
        "subject.round.opening_soon": "Scoring opens soon: {round}",
        "subject.round.closing_soon": "Scoring closes soon: {round}",
        "subject.winner.published": "Congratulations: {award}",
        "subject.reach.milestone": "Milestone: {percent}% of the {kpi} target",
        "hello": "Hello {name},",
        "intro.registration.confirmed": "you are registered. Show the code below at the entrance.",
        "intro.registration.promoted": (
            "a place freed up and it is yours: you are now registered. Show the code below "
            "at the entrance."
        ),
        "intro.registration.waitlisted": (
            "the event is full, so you are on the waitlist. We will e-mail you your ticket "
            "as soon as a place frees up."
        ),
        "intro.event.reminder": "a reminder: the event starts soon. Your ticket is below.",
        "intro.event.changed": "the event's time or place has changed. The new details are below.",
        "intro.registration.cancelled": "your registration for {title} is cancelled.",
        "intro.event.cancelled": "we are sorry: {title} has been cancelled.",
        "not_confirmed_now": "This registration is no longer confirmed; see your ticket page.",
        "when": "When",
        "where": "Where",
        "code_alt": "Your entrance code",
        "code_caption": "Entrance code (also attached as ticket.png). Keep it to yourself.",
        "calendar": "The attached invite.ics adds the event to your calendar.",
        "manage": "View or cancel your registration",
        "judge.assigned": ("you have been assigned {count} entries to score in {round} ({event})."),
        "round.opening_soon": (
            "scoring for {round} ({event}) opens at {opens}. {count} entries are assigned to you."
        ),
        "round.closing_soon": (
            "scoring for {round} ({event}) closes at {closes}. {count} of your sheets are "
            "not submitted yet."
        ),
        "open_judging": "Open the judging page",
        "winner.published": "{entry} has been awarded {award} (rank {rank}) at {event}.",
        "certificate": "View the certificate",
        "reach.milestone": (
            "the programme has reached {percent}% of its {kpi} target: {value} of {target}."
        ),
        "dashboard": "Open the dashboard",
        "footer": "You receive this message because of your registration or role at {org}.",
    },
    "zh-Hans": {
        "subject.registration.confirmed": "您的入场凭证：{title}",
        "subject.registration.promoted": "候补成功：{title} 的入场凭证",
        "subject.registration.waitlisted": "您已进入候补名单：{title}",
        "subject.registration.cancelled": "报名已取消：{title}",
        "subject.event.reminder": "活动提醒：{title}",
        "subject.event.changed": "活动变更：{title}",
        "subject.event.cancelled": "活动取消：{title}",
        "subject.judge.assigned": "评审任务：{round}",
        "subject.round.opening_soon": "评分即将开始：{round}",
        "subject.round.closing_soon": "评分即将截止：{round}",
        "subject.winner.published": "恭喜获奖：{award}",
        "subject.reach.milestone": "里程碑：{kpi}目标完成 {percent}%",
        "hello": "{name}，您好：",
        "intro.registration.confirmed": "您已报名成功，入场时请出示下方二维码。",
        "intro.registration.promoted": "有名额空出，您已由候补转为正式报名，入场时请出示下方二维码。",
        "intro.registration.waitlisted": "活动名额已满，您已进入候补名单。有空位时我们会发送入场凭证。",
        "intro.event.reminder": "活动即将开始，以下是您的入场凭证。",
        "intro.event.changed": "活动的时间或地点有变更，最新信息如下。",
        "intro.registration.cancelled": "您对“{title}”的报名已取消。",
        "intro.event.cancelled": "很抱歉，“{title}”已取消。",
        "not_confirmed_now": "此报名目前不是有效状态，请查看凭证页面。",
        "when": "时间",
        "where": "地点",
        "code_alt": "入场二维码",
        "code_caption": "入场二维码（附件 ticket.png 亦同），请勿转发他人。",
        "calendar": "附件 invite.ics 可将活动加入您的日历。",
        "manage": "查看或取消报名",
        "judge.assigned": "您在“{event}”的“{round}”中被分配了 {count} 个参赛项目。",
        "round.opening_soon": "“{event}”的“{round}”评分将于 {opens} 开始，您有 {count} 个参赛项目待评。",
        "round.closing_soon": "“{event}”的“{round}”评分将于 {closes} 截止，您还有 {count} 份评分表未提交。",
        "open_judging": "打开评审页面",
        "winner.published": "“{entry}”在“{event}”中荣获“{award}”（第 {rank} 名）。",
        "certificate": "查看证书",
        "reach.milestone": "项目的{kpi}目标已完成 {percent}%：{value} / {target}。",
        "dashboard": "打开数据看板",
        "footer": "您收到此邮件，是因为您在{org}的报名或职务。",
    },
}


def email_translator(locale: str) -> Callable[..., str]:
    catalog = EMAIL_TEXT.get(locale, EMAIL_TEXT["en"])

    def t(key: str, **values: object) -> str:
        text = catalog.get(key) or EMAIL_TEXT["en"][key]
        return text.format(**values) if values else text

    return t
