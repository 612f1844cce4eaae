from django.contrib import admin
from django.utils import timezone

from schedules import services
from schedules.models import Schedule, ScheduleEvent


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "script", "agent", "cron_expression", "timezone", "enabled", "next_run_at", "last_run_status"]
    list_filter = ["enabled", "last_run_status"]
    list_select_related = ["script", "agent"]
    search_fields = ["name"]
    readonly_fields = ["last_run_at", "last_run_status", "next_run_at"]

    def save_model(self, request, obj, form, change):
        # nextRunAt is derived from the expression, the timezone and now.
        services.schedule_refresh_next_run(schedule=obj, now=timezone.now())
        super().save_model(request, obj, form, change)


@admin.register(ScheduleEvent)
class ScheduleEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "schedule", "kind", "reason", "scheduled_for", "job"]
    list_filter = ["kind", "reason"]
    list_select_related = ["schedule"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
