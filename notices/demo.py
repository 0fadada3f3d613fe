"""Demo notices of the main hospital's training office: pinned, targeted, a draft, and some already read."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, When

from accounts.choices import Role, SiteKind
from accounts.models import Hospital, SpecialtyBase, User
from core import demo

from . import services
from .models import Notice, NoticeRead

ANCHOR = datetime(2025, 9, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass(frozen=True)
class _Spec:
    title: str
    body: str
    days_before_anchor: int
    roles: tuple[str, ...] = ()
    first_base_only: bool = False
    pinned: bool = False
    publish: bool = True
    read_by_residents: int = field(default=0)


NOTICES = [
    _Spec(
        title="关于2025级住院医师入科教育安排的通知",
        body=(
            "<p>各专业基地、各轮转科室：</p>"
            "<p>2025级住院医师将于9月1日起陆续入科。为帮助新学员尽快熟悉工作环境，现将入科教育安排通知如下：</p>"
            "<ol><li>时间：入科首日上午8:00—11:30；</li>"
            "<li>内容：科室概况、核心制度、医疗安全、院感防控、病历书写规范；</li>"
            "<li>要求：各科室教学秘书负责组织并在系统中上传签到表。</li></ol>"
            "<p>请各住院医师按时参加，无故缺席者按旷工处理。</p>"
        ),
        days_before_anchor=5,
        roles=(Role.RESIDENT,),
        pinned=True,
        read_by_residents=3,
    ),  # fmt: skip
    _Spec(
        title="关于开展2025年度住院医师规范化培训年度考核的通知",
        body=(
            "<p>根据省卫生健康委员会有关要求，定于12月中旬开展2025年度住培年度考核。</p>"
            "<h3>考核内容</h3><ul><li>理论考核（机考，100题）</li><li>临床技能考核（OSCE，4站）</li>"
            "<li>日常考核（出科考核、轮转手册完成情况）</li></ul>"
            "<p>年度考核不合格者，须延长培训时间。具体安排另行通知。</p>"
        ),
        days_before_anchor=3,
        roles=(Role.RESIDENT, Role.SUPERVISOR),
        pinned=True,
        read_by_residents=1,
    ),  # fmt: skip
    _Spec(
        title="关于举办2025年第二期住培师资培训班的通知",
        body=(
            "<p>为提升带教能力，住培办定于10月18日—19日举办第二期师资培训班。</p>"
            "<table><thead><tr><th>时间</th><th>内容</th></tr></thead><tbody>"
            "<tr><td>第一天上午</td><td>住培政策解读与带教职责</td></tr>"
            "<tr><td>第一天下午</td><td>教学查房与小讲课示范</td></tr>"
            "<tr><td>第二天</td><td>Mini-CEX与DOPS评价实操</td></tr></tbody></table>"
            "<p>请各科室推荐2名未取得师资证书的带教老师参加。</p>"
        ),
        days_before_anchor=10,
        roles=(Role.SUPERVISOR, Role.MENTOR, Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD),
    ),  # fmt: skip
    _Spec(
        title="关于2026年住院医师规范化培训结业考核报名的通知",
        body=(
            "<p>2023级住院医师请于2026年3月31日前在系统中完成结业考核报名，并上传以下材料：</p>"
            "<ul><li>医师资格证书</li><li>年度考核合格证明</li><li>轮转出科考核记录</li></ul>"
            "<p>报名材料由专业基地初审、住培办复审。逾期不予受理。</p>"
        ),
        days_before_anchor=1,
        roles=(Role.RESIDENT,),
    ),  # fmt: skip
    _Spec(
        title="基地教学查房观摩活动安排",
        body=(
            "<p>本月第三周周四下午14:30在示教室举行全院教学查房观摩，欢迎本基地带教老师和住院医师参加。</p>"
            "<blockquote>观摩后请在系统中填写评价表。</blockquote>"
        ),
        days_before_anchor=7,
        first_base_only=True,
    ),  # fmt: skip
    _Spec(
        title="关于规范住培轮转考勤管理的通知（征求意见稿）",
        body="<p>各科室考勤员、教学秘书：住培办拟修订轮转考勤管理办法，请于下周五前反馈意见。</p>",
        days_before_anchor=0,
        roles=(Role.ATTENDANCE_CLERK, Role.TEACHING_SECRETARY),
        publish=False,
    ),  # fmt: skip
]


@demo.register("notices", order=50)
def seed(stdout=None) -> None:
    hospital = Hospital.objects.filter(kind=SiteKind.MAIN).order_by("pk").first()
    if hospital is None:
        return
    office = (
        User.objects.filter(
            is_active=True, role_assignments__role=Role.TRAINING_OFFICE, role_assignments__hospital=hospital
        )
        .order_by("pk")
        .first()
    )
    if office is None:
        return
    first_base = SpecialtyBase.objects.filter(hospital=hospital, is_active=True).order_by("code").first()
    residents = list(
        User.objects.filter(
            is_active=True, role_assignments__role=Role.RESIDENT, role_assignments__base__hospital=hospital
        )
        .distinct()
        # the demo login "resident" first, so that signing in as her shows read and unread notices
        .order_by(Case(When(username="resident", then=0), default=1), "username")[:3]
    )
    for spec in NOTICES:
        notice = Notice.objects.filter(hospital=hospital, title=spec.title).first()
        if notice is None:
            notice = services.notice_create(
                hospital=hospital, title=spec.title, body=spec.body, audience_roles=list(spec.roles),
                audience_bases=[first_base] if spec.first_base_only and first_base else [],
                is_pinned=spec.pinned, acting_user=office,
            )  # fmt: skip
            if spec.publish:
                notice = services.notice_publish(notice=notice, acting_user=office)
        if not notice.is_published:
            continue
        published_at = ANCHOR - timedelta(days=spec.days_before_anchor)
        Notice.objects.filter(pk=notice.pk).update(published_at=published_at)
        for hours, resident in enumerate(residents[: spec.read_by_residents], start=1):
            services.notice_mark_read(notice=notice, user=resident)
            NoticeRead.objects.filter(notice=notice, user=resident).update(
                read_at=published_at + timedelta(hours=hours)
            )
