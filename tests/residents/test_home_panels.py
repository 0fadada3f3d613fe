"""The home page: a resident's own training at a glance; the office's residents by status and open batches."""

import pytest
from django.urls import reverse
from django.utils.translation import gettext

from residents.choices import TrainingStatus
from tests.factories.residents import EnrollmentBatchFactory

pytestmark = pytest.mark.django_db


def test_a_resident_sees_their_training_and_a_link_to_the_archive(client, resident_profile):
    client.force_login(resident_profile.user)
    page = client.get(reverse("core:home")).content.decode()
    assert 'data-testid="my-training-panel"' in page
    assert reverse("residents:detail", args=[resident_profile.uuid]) in page
    assert resident_profile.mentor.real_name in page


def test_a_resident_without_an_archive_is_told_why(client, resident):
    client.force_login(resident)
    page = client.get(reverse("core:home")).content.decode()
    assert 'data-testid="my-training-panel"' in page
    panel = page.split('data-testid="my-training-panel"')[1]
    assert (
        gettext("Your archive has not been created yet. The training office creates it when you are enrolled.") in panel
    )
    assert "/residents/" not in panel.split("</div>\n</div>")[0]


def test_the_office_sees_residents_by_status_and_the_open_batches(
    client, org, office, director, resident_profile, other_profile
):
    other_profile.status = TrainingStatus.SUSPENDED
    other_profile.save()
    batch = EnrollmentBatchFactory(hospital=org.hospital, name="2026年招录")
    client.force_login(office)
    page = client.get(reverse("core:home")).content.decode()
    panel = page.split('data-testid="residents-overview-panel"')[1]
    assert f"{reverse('residents:list')}?status={TrainingStatus.SUSPENDED}" in panel
    assert reverse("residents:batch_detail", args=[batch.uuid]) in panel

    client.force_login(director)
    assert 'data-testid="residents-overview-panel"' not in client.get(reverse("core:home")).content.decode()
