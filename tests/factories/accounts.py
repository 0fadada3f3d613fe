import factory
from django.utils import timezone

from accounts.choices import Role, UserStatus
from accounts.models import Department, Hospital, RoleAssignment, SpecialtyBase, User
from accounts.validators import id_number_check_digit


def make_id_number(n: int, region: str = "110105", born: str = "19950301") -> str:
    first17 = f"{region}{born}{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"h{n}")
    name = factory.Sequence(lambda n: f"第{n}人民医院")


class SpecialtyBaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SpecialtyBase

    hospital = factory.SubFactory(HospitalFactory)
    code = factory.Sequence(lambda n: f"{n:04d}")
    name = factory.Sequence(lambda n: f"专业基地{n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    hospital = factory.SelfAttribute("base.hospital")
    base = factory.SubFactory(SpecialtyBaseFactory)
    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"科室{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    real_name = factory.Sequence(lambda n: f"测试{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    status = UserStatus.ACTIVE
    id_number = factory.Sequence(lambda n: make_id_number(n))
    password = factory.PostGenerationMethodCall("set_password", "Zhupei#2025")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = Role.RESIDENT
    valid_from = factory.LazyFunction(lambda: timezone.localdate().replace(year=timezone.localdate().year - 1))
