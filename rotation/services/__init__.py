"""Rotation's services: everything that writes, spans relations, audits or enqueues work.

`programmes` (programmes as data, checks, loading the shipped ones), `departments` (capacities,
closed months, supervisors made available), `preferences` (elective windows and rankings),
`problems` (the scheduler's input from the database), `runs` (generate, publish, compare),
`moves` and `changes` (manual changes, drafts and through approval), `supervision` (one-to-one
supervisors per block).
"""
