import datetime

import factory

from residents.choices import Gender, TrainingCategory, TrainingStatus
from residents.models import EnrollmentBatch, EnrollmentQuota, ResidentProfile
from rotation.models import RotationBlock

from .accounts import HospitalFactory, SpecialtyBaseFactory, UserFactory


class ResidentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResidentProfile

    user = factory.SubFactory(UserFactory)
    base = factory.SubFactory(SpecialtyBaseFactory)
    gender = Gender.FEMALE
    birth_date = datetime.date(1998, 3, 1)
    ethnicity = "汉族"
    school = "首都医科大学"
    major = "临床医学"
    category = TrainingCategory.SOCIAL
    cohort = 2025
    training_years = 3
    start_date = datetime.date(2025, 9, 1)
    planned_end_date = datetime.date(2028, 8, 31)
    status = TrainingStatus.IN_TRAINING


class EnrollmentBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EnrollmentBatch

    hospital = factory.SubFactory(HospitalFactory)
    year = 2026
    name = factory.Sequence(lambda n: f"第{n}批")
    start_date = datetime.date(2026, 9, 1)


class EnrollmentQuotaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EnrollmentQuota

    batch = factory.SubFactory(EnrollmentBatchFactory)
    base = factory.SubFactory(SpecialtyBaseFactory)
    quota = 10


class RotationBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RotationBlock

    resident = factory.SubFactory(ResidentProfileFactory)
    start_date = datetime.date(2025, 9, 1)
    end_date = datetime.date(2025, 12, 31)
