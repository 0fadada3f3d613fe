"""Workflows and relations plug into the engine here; the engine never names them.

A workflow supplies its default chain (created on first use, then edited as data), and
the services to run when a request is decided. A relation resolves approvers that are not
"everyone holding a role in a scope", e.g. the resident's own supervisor; the rotation
app registers that one.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.functional import Promise

Hook = Callable[..., None]


@dataclass(frozen=True)
class StepSpec:
    name: str | Promise
    role: str
    relation: str = ""
    condition: tuple[str, str, Any] | None = None  # (field, operator, value)


@dataclass(frozen=True)
class Workflow:
    code: str
    label: str | Promise
    default_steps: tuple[StepSpec, ...]
    on_approved: Hook | None = None
    on_rejected: Hook | None = None
    on_returned: Hook | None = None
    on_withdrawn: Hook | None = None
    #: the submitter sent a returned request again
    on_resubmitted: Hook | None = None
    #: leave-style requests: once any approver has agreed, the submitter can no longer withdraw
    withdraw_until_first_decision: bool = False
    #: a template fragment shown on the request page, receiving `request_obj` and `target`
    detail_template: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Relation:
    code: str
    label: str | Promise
    resolve: Callable[[Any], QuerySet]


_workflows: dict[str, Workflow] = {}
_relations: dict[str, Relation] = {}


def register_workflow(workflow: Workflow) -> Workflow:
    _workflows[workflow.code] = workflow
    return workflow


def register_relation(relation: Relation) -> Relation:
    _relations[relation.code] = relation
    return relation


def get_workflow(code: str) -> Workflow:
    try:
        return _workflows[code]
    except KeyError:
        raise LookupError(f"Unknown approval workflow {code!r}") from None


def get_relation(code: str) -> Relation:
    try:
        return _relations[code]
    except KeyError:
        raise LookupError(f"Unknown approval relation {code!r}") from None


def workflows() -> dict[str, Workflow]:
    return dict(_workflows)


def relations() -> dict[str, Relation]:
    return dict(_relations)
