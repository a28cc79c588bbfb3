"""Bulletins (督查通报) and school report cards (成绩单): figures (content.py, report_card.py), issued
bulletins (models.py, operations.py), rendering (render.py, charts.py, workbooks.py), the notice
renderers (mailing.py), pages (views.py) and ``houqin bulletin`` (cli.py).

Importing the package registers the ``bulletin`` and ``report_card`` renderers with
:mod:`service.mail.kinds` (create_app imports it, and so does anything that imports the package).
"""

from service.bulletins import mailing as _mailing  # noqa: F401 - registers the renderers
