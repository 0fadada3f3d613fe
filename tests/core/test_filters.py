import pytest

from accounts.filters import UserFilter
from notices.filters import NoticeFilter

pytestmark = pytest.mark.django_db


def test_list_filters_explain_themselves_without_labels_on_a_phone(org):
    form = UserFilter().form
    assert '<option value="" selected>专业基地</option>' in str(form["base"])
    assert '<option value="" selected>状态</option>' in str(form["status"])
    assert 'placeholder="姓名、用户名或工号"' in str(form["q"])
    assert "form-select" in str(form["role"])


def test_an_explicit_blank_label_is_kept():
    assert '<option value="" selected>已读和未读</option>' in str(NoticeFilter().form["read"])
