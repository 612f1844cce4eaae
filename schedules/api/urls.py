from django.urls import path

from schedules.api import views

urlpatterns = [
    path("schedules/preview", views.PreviewView.as_view(), name="schedule-preview"),
]
