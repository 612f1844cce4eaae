from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from schedules.api.engine_views import metrics_view

urlpatterns = [
    path("", RedirectView.as_view(url="/app/", permanent=False)),
    # The staff UI is the Django admin, mounted at /app/; /app/schedules is the schedules list.
    path("app/schedules", RedirectView.as_view(url="/app/schedules/schedule/", permanent=False)),
    path("app/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    # Each app owns its API routes under /api/.
    path("api/", include("schedules.api.urls")),
    path("api/", include("agents.api.urls")),
    path("api/", include("vault.api.urls")),
    path("api/", include("billing.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="schema"), name="docs"),
]

handler404 = "config.exceptions.not_found"
