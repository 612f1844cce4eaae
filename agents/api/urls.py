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
]
