"""Monthly evaluations of logistics staff (后勤人员考核).

Importing the package registers the report workflow's submission check (every active staff member
evaluated); :mod:`service.models` imports it, so every app created has the check.
"""

from service.evaluations.operations import register_submission_check

register_submission_check()
