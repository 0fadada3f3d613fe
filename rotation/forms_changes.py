"""The change form: which office operation, on which months. Shape only; rotation.changes checks the rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from .services import schedule_moves
from .services.schedule_moves import Months, Move

FREE_CHOICE = "free"


class Operation(models.TextChoices):
    ASSIGN = "assign", _("Move months to another department")
    SWAP_RESIDENT = "swap_resident", _("Swap months with another resident")
    SWAP_BLOCKS = "swap_blocks", _("Swap two blocks")
    SHIFT_BLOCK = "shift_block", _("Move a block to another start month")


#: The fields each operation needs (besides `op` and, for the published schedule, `reason`).
OPERATION_FIELDS: dict[str, tuple[str, ...]] = {
    Operation.ASSIGN: ("start", "end", "department"),
    Operation.SWAP_RESIDENT: ("start", "end", "other"),
    Operation.SWAP_BLOCKS: ("block", "second_block"),
    Operation.SHIFT_BLOCK: ("block", "new_start"),
}


def month_value(month: date) -> str:
    return f"{month:%Y-%m}"


def parse_month(value: str) -> date:
    year, month = value.split("-")
    return date(int(year), int(month), 1)


def _select(**attrs) -> forms.Select:
    return forms.Select(attrs={"class": "form-select", **attrs})


class ScheduleChangeForm(forms.Form):
    op = forms.ChoiceField(choices=Operation.choices, widget=forms.HiddenInput)
    start = forms.ChoiceField(label=_("From month"), widget=_select())
    end = forms.ChoiceField(label=_("Until month"), widget=_select(), help_text=_("Inclusive."))
    department = forms.ChoiceField(label=_("To department"), widget=_select())
    other = forms.ChoiceField(label=_("Swap with resident"), widget=_select())
    block = forms.ChoiceField(label=_("Block"), widget=_select())
    second_block = forms.ChoiceField(label=_("Swap with block"), widget=_select())
    new_start = forms.ChoiceField(
        label=_("New start month"), widget=_select(), help_text=_("The months in between shift to fill the gap.")
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
        help_text=_("The base director reads it when deciding."),
        error_messages={"required": _("Give the reason for this change: the approvers read it.")},
    )

    def __init__(
        self,
        *args,
        op: str,
        months: Months,
        departments: list[tuple[int, str]],
        others: list[tuple[str, str]],
        names: dict[int, str],
        needs_reason: bool,
        **kwargs,
    ):
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {"op": op, **kwargs["initial"]}
        super().__init__(*args, **kwargs)
        self.op = op
        month_choices = [(month_value(m), month_value(m)) for m in sorted(months)]
        blocks = schedule_moves.segments(months)
        block_choices = [
            (
                month_value(s.start),
                f"{month_value(s.start)} – {month_value(s.end)} · {names.get(s.department, '?')}",
            )
            for s in blocks
        ]
        empty = [("", "—")]
        self.fields["start"].choices = empty + month_choices
        self.fields["end"].choices = empty + month_choices
        self.fields["new_start"].choices = empty + month_choices
        self.fields["department"].choices = (
            empty + [(str(pk), name) for pk, name in departments] + [(FREE_CHOICE, _("Unassigned (no rotation)"))]
        )
        self.fields["other"].choices = empty + others
        self.fields["block"].choices = empty + block_choices
        self.fields["second_block"].choices = empty + block_choices
        keep = {"op", *OPERATION_FIELDS.get(op, ())}
        if needs_reason:
            keep.add("reason")
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]

    def build_moves(
        self, *, resident: int, months: Months, other_months: Callable[[str], tuple[int, Months]]
    ) -> list[Move]:
        """The month-level moves the chosen operation means; a ValidationError says why there are none."""
        data = self.cleaned_data
        if self.op == Operation.ASSIGN:
            department = None if data["department"] == FREE_CHOICE else int(data["department"])
            return schedule_moves.moves_assign(
                resident, months, parse_month(data["start"]), parse_month(data["end"]), department
            )
        if self.op == Operation.SWAP_RESIDENT:
            other, theirs = other_months(data["other"])
            return schedule_moves.moves_swap_residents(
                resident, months, other, theirs, parse_month(data["start"]), parse_month(data["end"])
            )
        if self.op == Operation.SWAP_BLOCKS:
            return schedule_moves.moves_swap_blocks(
                resident, months, parse_month(data["block"]), parse_month(data["second_block"])
            )
        return schedule_moves.moves_shift_block(
            resident, months, parse_month(data["block"]), parse_month(data["new_start"])
        )
