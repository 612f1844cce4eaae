from django.urls import path

from schedules.api import engine_views, views

# Explicit routes (no router): each line is the SPEC §6 path; append new ones below.
# A schedule's jobs (`schedules/<id>/jobs/`) are the jobs API's: agents/api/urls.py.
# `schedules/preview` (and the engine's `schedules/execute`) come before `schedules/<id>/`.
schedules = views.ScheduleViewSet.as_view({"get": "list", "post": "create"})
schedule = views.ScheduleViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

calendars = views.CalendarViewSet.as_view({"get": "list", "post": "create"})
calendar = views.CalendarViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

alert_channels = views.AlertChannelViewSet.as_view({"get": "list", "post": "create"})
alert_channel = views.AlertChannelViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("schedules/preview", views.PreviewView.as_view(), name="schedule-preview"),
    path("schedules/execute", engine_views.ExecuteView.as_view(), name="schedule-execute"),
    path("cron/scheduled-runs", engine_views.CronScheduledRunsView.as_view(), name="cron-runs"),
    path("health", engine_views.HealthView.as_view(), name="health"),
    path("schedules/", schedules, name="schedule-list"),
    path("schedules/<uuid:pk>/", schedule, name="schedule-detail"),
    path(
        "schedules/<uuid:pk>/pause",
        views.ScheduleViewSet.as_view({"post": "pause"}),
        name="schedule-pause",
    ),
    path(
        "schedules/<uuid:pk>/resume",
        views.ScheduleViewSet.as_view({"post": "resume"}),
        name="schedule-resume",
    ),
    path(
        "schedules/<uuid:pk>/backfill",
        views.BackfillView.as_view(),
        name="schedule-backfill",
    ),
    path(
        "schedules/<uuid:pk>/events/",
        views.ScheduleEventListView.as_view(),
        name="schedule-events",
    ),
    path("schedules/<uuid:pk>/stats", views.ScheduleStatsView.as_view(), name="schedule-stats"),
    path("calendars/", calendars, name="calendar-list"),
    path("calendars/<uuid:pk>/", calendar, name="calendar-detail"),
    path("alert-channels/", alert_channels, name="alert-channel-list"),
    path("alert-channels/<uuid:pk>/", alert_channel, name="alert-channel-detail"),
    path(
        "alert-channels/<uuid:pk>/test",
        views.AlertChannelViewSet.as_view({"post": "test"}),
        name="alert-channel-test",
    ),
]
