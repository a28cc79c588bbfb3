"""Server-rendered pages (Jinja): login, a dashboard per role, schools, the caller's API tokens."""
