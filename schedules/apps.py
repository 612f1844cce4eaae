from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "schedules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config import postgres
        from schedules import receivers  # noqa: F401  (connects signal receivers)
        from schedules.bulk import register_lookups

        # What the tick leans on from PostgreSQL: the batch lookup `__anyof`, and psycopg's C
        # loader for timestamps (config/postgres.py).
        register_lookups()
        postgres.connect()
