"""`manage.py load_caseload_standards [--hospital CODE] [--replace]`: the shipped per-resident quotas."""

from rotation.management.hospital_command import HospitalLoaderCommand
from rotation.services.caseload_progress import load_caseload_standards


class Command(HospitalLoaderCommand):
    help = (
        "Create the caseload standards (病种, 管床病例, 技能 minimums) of rotation_programs.yaml's example_quotas for "
        "the matching departments of every main hospital and its sites. Running it again changes nothing."
    )
    loader = staticmethod(load_caseload_standards)
    replace_help = "reset existing standards to the shipped numbers"
