"""The words of the public pages in English and Simplified Chinese, and picking one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from litestar import Request

LOCALES = ("en", "zh-Hans")
LOCALE_COOKIE = "lang"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "register": "Register",
        "register_title": "Register for {title}",
        "when": "When",
        "where": "Where",
        "name": "Full name",
        "email": "E-mail",
        "phone": "Mobile phone (optional)",
        "phone_hint": "Include +country code outside mainland China",
        "organisation": "Organisation (optional)",
        "job_title": "Job title (optional)",
        "consent": (
            "I agree that the organisers store these details to run this event and to "
            "count the programme's reach."
        ),
        "submit": "Register",
        "submit_waitlist": "Join the waitlist",
        "fix_errors": "Please correct the marked fields.",
        "seats_left": "{n} places left",
        "waitlist_only": "The event is full. You can join the waitlist; you will be told "
        "by e-mail if a place frees up.",
        "state_unknown": "This registration link does not exist. Check the link you were sent.",
        "state_not_open": "Registration through this link opens on {opens}.",
        "state_closed": "Registration through this link is closed.",
        "state_quota_reached": "All places offered through this link are taken.",
        "state_sold_out": "The event is sold out.",
        "state_cancelled": "This event has been cancelled.",
        "ticket": "Your ticket",
        "status_confirmed": "Confirmed: show this code at the entrance.",
        "status_waitlisted": "You are on the waitlist. We will e-mail you if a place frees up.",
        "status_cancelled": "This registration is cancelled.",
        "attendee": "Attendee",
        "add_to_calendar": "Add to calendar (.ics)",
        "download_qr": "Download the code (PNG)",
        "cancel": "Cancel my registration",
        "cancel_confirm": "Cancel this registration? Your place goes to the next person.",
        "cancelled_done": "Your registration is cancelled.",
        "not_found": "No ticket with this link. Check the link in your confirmation e-mail.",
        "already_registered": (
            "You are already registered for this event; we have e-mailed your ticket again "
            "to that address."
        ),
        "ticket_mailed": (
            "Thank you: your registration is in. We have e-mailed your ticket to that address."
        ),
        "status_event_cancelled": (
            "This event has been cancelled. This ticket is no longer valid; we are sorry."
        ),
        "edit_details": "Edit my details",
        "save_details": "Save my details",
        "details_saved": "Your details are saved.",
        "organisation_locked": (
            "Your organisation is counted in the programme's figures since your attendance: "
            "to change it, please contact the organisers."
        ),
        "ticket_closed": "This registration is cancelled: its details can no longer be changed.",
        "too_many": "Too many attempts from your network. Wait a minute and try again.",
        "admitted_no_cancel": "This ticket was used at the entrance: it cannot be cancelled.",
        "language": "中文",
    },
    "zh-Hans": {
        "register": "报名",
        "register_title": "报名：{title}",
        "when": "时间",
        "where": "地点",
        "name": "姓名",
        "email": "电子邮箱",
        "phone": "手机号码（选填）",
        "phone_hint": "中国大陆以外的号码请加国家代码，如 +44",
        "organisation": "单位（选填）",
        "job_title": "职务（选填）",
        "consent": "我同意主办方保存以上信息，用于举办本次活动和统计项目覆盖人数。",
        "submit": "提交报名",
        "submit_waitlist": "加入候补名单",
        "fix_errors": "请修改标出的内容。",
        "seats_left": "剩余 {n} 个名额",
        "waitlist_only": "名额已满。您可以加入候补名单，有空位时我们会发邮件通知您。",
        "state_unknown": "报名链接不存在，请核对您收到的链接。",
        "state_not_open": "此链接将于 {opens} 开放报名。",
        "state_closed": "此链接的报名已截止。",
        "state_quota_reached": "此链接提供的名额已满。",
        "state_sold_out": "活动名额已满。",
        "state_cancelled": "本次活动已取消。",
        "ticket": "您的入场凭证",
        "status_confirmed": "报名成功：入场时请出示此二维码。",
        "status_waitlisted": "您在候补名单中，有空位时我们会发邮件通知您。",
        "status_cancelled": "此报名已取消。",
        "attendee": "参会人",
        "add_to_calendar": "加入日历（.ics）",
        "download_qr": "下载二维码（PNG）",
        "cancel": "取消报名",
        "cancel_confirm": "确定取消报名吗？您的名额将让给下一位。",
        "cancelled_done": "您的报名已取消。",
        "not_found": "找不到此凭证，请核对确认邮件中的链接。",
        "already_registered": "您已报名本次活动，我们已将入场凭证再次发送到该邮箱。",
        "ticket_mailed": "感谢报名！我们已将入场凭证发送到该邮箱。",
        "status_event_cancelled": "本次活动已取消，此入场凭证已失效，敬请谅解。",
        "edit_details": "修改我的信息",
        "save_details": "保存我的信息",
        "details_saved": "您的信息已保存。",
        "organisation_locked": "您参会后，您的单位已计入项目统计；如需修改，请联系主办方。",
        "ticket_closed": "此报名已取消，信息无法再修改。",
        "too_many": "您所在网络的请求过多，请一分钟后再试。",
        "admitted_no_cancel": "此凭证已在入口使用，无法取消。",
        "language": "English",
    },
}

_WEEKDAYS_ZH = "一二三四五六日"


def pick_locale(request: Request, default: str = "en") -> str:
    """?lang= beats the remembered choice, which beats the browser's languages."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        if candidate in LOCALES:
            return candidate
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-Hans"
        if tag.startswith("en"):
            return "en"
    return default if default in LOCALES else "en"


def other_locale(locale: str) -> str:
    return "en" if locale == "zh-Hans" else "zh-Hans"


def translator(locale: str) -> Callable[..., str]:
    messages = MESSAGES[locale]

    def t(key: str, **values: object) -> str:
        text = messages.get(key) or MESSAGES["en"][key]
        return text.format(**values) if values else text

    return t


def format_when(starts_at: datetime, ends_at: datetime, zone: str, locale: str) -> str:
    """The event's time as people at the venue read it, with the zone spelled out."""
    tz = ZoneInfo(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    offset = start.strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}"
    same_day = start.date() == end.date()
    if locale == "zh-Hans":
        day = f"{start.year}年{start.month}月{start.day}日（周{_WEEKDAYS_ZH[start.weekday()]}）"
        end_text = end.strftime("%H:%M") if same_day else f"{end.month}月{end.day}日 {end:%H:%M}"
        return f"{day} {start:%H:%M}–{end_text}（{zone}，{utc}）"
    end_text = end.strftime("%H:%M") if same_day else end.strftime("%a %d %b %Y, %H:%M")
    return f"{start:%a %d %b %Y, %H:%M}–{end_text} ({zone}, {utc})"


def format_instant(moment: datetime, zone: str, locale: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    if locale == "zh-Hans":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return local.strftime("%d %b %Y, %H:%M")
