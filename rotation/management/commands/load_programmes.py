"""`manage.py load_programmes [--hospital CODE] [--replace]`: the shipped default rotation programmes."""

from rotation.management.hospital_command import HospitalLoaderCommand
from rotation.services.programmes import load_programmes


class Command(HospitalLoaderCommand):
    help = (
        "Create the default rotation programmes (accounts/data/rotation_programs.yaml) for every specialty base "
        "that has none, with the departments they need. Running it again changes nothing."
    )
    loader = staticmethod(load_programmes)
    replace_help = "replace existing programmes with the defaults"
