"""Rotation's models: the schedule (programmes, capacities, runs, blocks) and what happens during a block.

`schedule` is what the scheduler reads and writes; `practice` is the daily process in a department
once a resident arrives: 入科教育, caseload logs, leave, monthly attendance and 出科.
"""

from .practice import (  # noqa: F401
    AttendanceLine,
    AttendanceReport,
    CaseloadAttachment,
    CaseloadEntry,
    CaseloadStandard,
    EntryEducation,
    EntryEducationTopic,
    ExitForm,
    ExitReview,
    LeaveAttachment,
    LeaveRequest,
    LeaveSettings,
    MakeupEntry,
    MakeupTask,
)
from .schedule import (  # noqa: F401
    DepartmentMonth,
    DepartmentSetting,
    DepartmentSupervisor,
    ElectivePreference,
    FeedToken,
    PreferenceWindow,
    Programme,
    ProgrammeRequirement,
    RotationBlock,
    ScheduleChange,
    ScheduleEntry,
    ScheduleRun,
)
