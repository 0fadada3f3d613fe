"""The rotation scheduler, free of Django: a `Problem` in, a `Schedule` out.

`problem` defines the data, `metrics` how a schedule is judged (hard constraints, the balance
measure and its lower bound, the naive baseline), `solver` how one is found, `diagnose` why
none exists. `rotation.services.scheduling` builds problems from the database and stores results.
"""
