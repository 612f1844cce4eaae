from django.contrib import admin

from agents.models import Agent, Job, JobAttempt, Script


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "status", "last_heartbeat_at", "capacity", "controller"]
    list_filter = ["status", "controller"]
    list_select_related = ["organization"]
    search_fields = ["name", "slug"]


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "runtime", "version", "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["name"]


class JobAttemptInline(admin.TabularInline):
    model = JobAttempt
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in JobAttempt._meta.fields]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "schedule", "agent", "trigger", "scheduled_for", "status", "attempt", "created_at"]
    list_filter = ["status", "trigger"]
    list_select_related = ["schedule", "agent"]
    inlines = [JobAttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
