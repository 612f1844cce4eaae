from django.urls import path

from agents.api import views

# Explicit routes (no router): each line is the SPEC §6 path; append new ones below.
agents = views.AgentViewSet.as_view({"get": "list", "post": "create"})
agent = views.AgentViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
scripts = views.ScriptViewSet.as_view({"get": "list", "post": "create"})
script = views.ScriptViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("agents/", agents, name="agent-list"),
    path("agents/<uuid:pk>/", agent, name="agent-detail"),
    path("scripts/", scripts, name="script-list"),
    path("scripts/<uuid:pk>/", script, name="script-detail"),
    path("jobs/", views.JobViewSet.as_view({"get": "list"}), name="job-list"),
    path(
        "jobs/<uuid:pk>/",
        views.JobViewSet.as_view({"get": "retrieve"}),
        name="job-detail",
    ),
    path("jobs/<uuid:pk>/log", views.JobViewSet.as_view({"get": "log"}), name="job-log"),
    # One schedule's jobs: the jobs list, filtered (the schedules app's routes are beside it).
    path("schedules/<uuid:pk>/jobs/", views.ScheduleJobListView.as_view(), name="schedule-jobs"),
]

# Control endpoints: agents/api/control_views.py (start/stop/token, cancel, watchdog).
# The agent API (agent token): agents/api/agent_views.py.
from agents.api import agent_views, control_views  # noqa: E402

urlpatterns += [
    path("agents/<uuid:pk>/start", control_views.AgentStartView.as_view(), name="agent-start"),
    path("agents/<uuid:pk>/stop", control_views.AgentStopView.as_view(), name="agent-stop"),
    path(
        "agents/<uuid:pk>/token", control_views.AgentTokenRotateView.as_view(), name="agent-token"
    ),
    path(
        "agents/<uuid:pk>/heartbeat",
        agent_views.AgentHeartbeatView.as_view(),
        name="agent-heartbeat",
    ),
    path(
        "agents/<uuid:pk>/jobs/<uuid:job_id>/claim",
        agent_views.JobClaimView.as_view(),
        name="agent-job-claim",
    ),
    path(
        "agents/<uuid:pk>/jobs/<uuid:job_id>/log",
        agent_views.JobLogView.as_view(),
        name="agent-job-log",
    ),
    path(
        "agents/<uuid:pk>/jobs/<uuid:job_id>/finish",
        agent_views.JobFinishView.as_view(),
        name="agent-job-finish",
    ),
    path("jobs/watchdog", control_views.JobWatchdogView.as_view(), name="job-watchdog"),
    path("jobs/<uuid:pk>/cancel", control_views.JobCancelView.as_view(), name="job-cancel"),
]
