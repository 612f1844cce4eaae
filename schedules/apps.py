from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "schedules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from schedules import receivers  # noqa: F401  (connects signal receivers)
        from schedules.bulk import register_lookups

        register_lookups()
