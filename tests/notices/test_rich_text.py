import pytest
from django.urls import reverse

from notices.models import clean_body

pytestmark = pytest.mark.django_db


def test_scripts_event_handlers_and_styles_are_stripped_from_a_notice(client, make_notice, resident):
    notice = make_notice(
        body=(
            '<p onclick="steal()">请准时参加<script>alert("x")</script></p>'
            '<img src="x" onerror="alert(1)"><style>body{display:none}</style>'
            '<h3 style="color:red">安排</h3><iframe src="https://evil.example"></iframe>'
            '<a href="javascript:alert(1)">点我</a> <a href="https://www.nhc.gov.cn/">国家卫健委</a>'
        )
    )
    assert "<script" not in notice.body and "alert" not in notice.body
    assert "onerror" not in notice.body and "onclick" not in notice.body and "<img" not in notice.body
    assert "style" not in notice.body and "<iframe" not in notice.body and "javascript:" not in notice.body
    assert "<p>请准时参加</p>" in notice.body and "<h3>安排</h3>" in notice.body
    assert '<a href="https://www.nhc.gov.cn/" rel="noopener noreferrer">国家卫健委</a>' in notice.body

    client.force_login(resident)
    page = client.get(reverse("notices:detail", args=[notice.uuid])).content.decode()
    assert "<h3>安排</h3>" in page  # rendered as markup, not escaped
    assert "steal()" not in page and 'onerror="' not in page


def test_a_body_changed_behind_the_service_is_still_sanitised_on_save(make_notice):
    notice = make_notice()
    notice.body = '<p>ok</p><svg onload="alert(1)"></svg>'
    notice.save()
    notice.refresh_from_db()
    assert notice.body == "<p>ok</p>"


def test_the_allowed_markup_survives():
    html = (
        "<h4>时间</h4><ul><li><strong>上午</strong> <em>8:00</em> <u>签到</u></li></ul><ol><li>一</li></ol>"
        "<blockquote>引用</blockquote><table><thead><tr><th>科室</th></tr></thead>"
        '<tbody><tr><td colspan="2">心内科</td></tr></tbody></table><a href="mailto:zpb@example.cn">邮件</a>'
    )
    cleaned = clean_body(html)
    for fragment in ("<h4>", "<strong>", "<em>", "<u>", "<ol>", "<blockquote>", '<td colspan="2">', "mailto:"):
        assert fragment in cleaned


def test_relative_and_data_links_lose_their_target():
    assert clean_body('<a href="/admin/">x</a><a href="data:text/html,hi">y</a>') == (
        '<a rel="noopener noreferrer">x</a><a rel="noopener noreferrer">y</a>'
    )


def test_plain_text_becomes_escaped_paragraphs():
    assert clean_body("第一段\n\n第二段 a < b") == "<p>第一段</p>\n\n<p>第二段 a &lt; b</p>"
